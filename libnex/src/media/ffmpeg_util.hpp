#pragma once
// Internal: RAII handles for FFmpeg objects and the mapping of FFmpeg errors
// to the nex error family. Never included by public headers.
#include <cerrno>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include "nex/error.hpp"

namespace nex::media {

// A byte source FFmpeg reads through (a camera's ranged reads): the bytes
// put at buf, fewer only at the end; throws on failure.
struct ByteReader {
  std::function<size_t(void* buf, size_t n, uint64_t off)> read;
  uint64_t size = 0;
  uint64_t pos = 0;
  std::string error;  // what the last failed read threw
};

// Closes the input; with custom I/O (open_input_reader) frees that too.
struct InputFormatDeleter {
  void operator()(AVFormatContext* c) const noexcept {
    if (!c) return;
    AVIOContext* pb = (c->flags & AVFMT_FLAG_CUSTOM_IO) ? c->pb : nullptr;
    avformat_close_input(&c);
    if (pb) {
      delete static_cast<ByteReader*>(pb->opaque);
      av_freep(&pb->buffer);
      avio_context_free(&pb);
    }
  }
};
using InputFormatPtr = std::unique_ptr<AVFormatContext, InputFormatDeleter>;

// Output context: closes its AVIOContext (when it opened a file) and frees.
struct OutputFormatDeleter {
  void operator()(AVFormatContext* c) const noexcept {
    if (!c) return;
    if (c->pb && c->oformat && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
using OutputFormatPtr = std::unique_ptr<AVFormatContext, OutputFormatDeleter>;

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const noexcept { avcodec_free_context(&c); }
};
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;

struct FrameDeleter {
  void operator()(AVFrame* f) const noexcept { av_frame_free(&f); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;

struct PacketDeleter {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;

struct SwsDeleter {
  void operator()(SwsContext* s) const noexcept { sws_freeContext(s); }
};
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;

struct SwrDeleter {
  void operator()(SwrContext* s) const noexcept { swr_free(&s); }
};
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;

// An owned AVDictionary (options, metadata).
class Dict {
 public:
  Dict() = default;
  ~Dict() { av_dict_free(&d_); }
  Dict(const Dict&) = delete;
  Dict& operator=(const Dict&) = delete;
  void set(const char* key, const std::string& value) { av_dict_set(&d_, key, value.c_str(), 0); }
  AVDictionary** out() { return &d_; }
  AVDictionary* get() const { return d_; }

 private:
  AVDictionary* d_ = nullptr;
};

inline std::string av_error_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  if (av_strerror(err, buf, sizeof buf) < 0) return "FFmpeg error " + std::to_string(err);
  return buf;
}

// Errors of the system (file missing, permissions, disk full) are IoError;
// everything FFmpeg says about the data itself is InputError.
inline bool is_system_error(int err) {
  switch (err) {
    case AVERROR(ENOENT): case AVERROR(EACCES): case AVERROR(EPERM): case AVERROR(EIO):
    case AVERROR(ENOSPC): case AVERROR(EROFS): case AVERROR(EISDIR): case AVERROR(ENOTDIR):
    case AVERROR(EMFILE): case AVERROR(ENFILE): case AVERROR(ENOMEM): case AVERROR(EFBIG):
    case AVERROR(EDQUOT): case AVERROR(EBUSY):
      return true;
    default:
      return false;
  }
}

[[noreturn]] inline void throw_av(int err, const std::string& what) {
  std::string msg = what + ": " + av_error_text(err);
  if (is_system_error(err)) throw IoError(msg);
  throw InputError(msg);
}

// For writers: every failure is an IoError (we produced the data ourselves).
[[noreturn]] inline void throw_av_io(int err, const std::string& what) {
  throw IoError(what + ": " + av_error_text(err));
}

inline int check_av(int ret, const std::string& what) {
  if (ret < 0) throw_av(ret, what);
  return ret;
}
inline int check_av_io(int ret, const std::string& what) {
  if (ret < 0) throw_av_io(ret, what);
  return ret;
}

// FFmpeg's default log level (info) would print to the tools' stderr. Quiet it
// unless the embedding program chose a level itself.
inline void quiet_ffmpeg_logs() {
  if (av_log_get_level() == AV_LOG_INFO) av_log_set_level(AV_LOG_FATAL);
}

// FFmpeg parses "proto:..." in names; "file:" keeps any path a local path.
inline std::string ffmpeg_url(const std::filesystem::path& p) { return "file:" + p.string(); }

// Open a media file. `probe` runs avformat_find_stream_info (decodes a few
// frames); a remux of an MP4 does not need it.
inline InputFormatPtr open_input(const std::filesystem::path& file, bool probe = true) {
  quiet_ffmpeg_logs();
  AVFormatContext* raw = nullptr;
  int ret = avformat_open_input(&raw, ffmpeg_url(file).c_str(), nullptr, nullptr);
  if (ret < 0) throw_av(ret, "cannot open " + file.string());
  InputFormatPtr ctx(raw);
  if (!probe) return ctx;
  ret = avformat_find_stream_info(ctx.get(), nullptr);
  if (ret < 0) throw_av(ret, "cannot read stream info of " + file.string());
  return ctx;
}

// Open media read through `reader` (named `name` in errors).
inline InputFormatPtr open_input_reader(ByteReader reader, const std::string& name, bool probe = true) {
  quiet_ffmpeg_logs();
  constexpr int kBuf = 64 * 1024;
  auto* buf = static_cast<unsigned char*>(av_malloc(kBuf));
  if (!buf) throw IoError("out of memory");
  auto* opaque = new ByteReader(std::move(reader));
  auto read_cb = [](void* op, uint8_t* b, int n) -> int {
    auto* r = static_cast<ByteReader*>(op);
    if (r->pos >= r->size) return AVERROR_EOF;
    try {
      const size_t got = r->read(b, static_cast<size_t>(n), r->pos);
      r->pos += got;
      return got == 0 ? AVERROR_EOF : static_cast<int>(got);
    } catch (const std::exception& e) {
      r->error = e.what();
      return AVERROR(EIO);
    }
  };
  auto seek_cb = [](void* op, int64_t off, int whence) -> int64_t {
    auto* r = static_cast<ByteReader*>(op);
    whence &= ~AVSEEK_FORCE;
    if (whence == AVSEEK_SIZE) return static_cast<int64_t>(r->size);
    int64_t to = off;
    if (whence == SEEK_CUR) to = static_cast<int64_t>(r->pos) + off;
    else if (whence == SEEK_END) to = static_cast<int64_t>(r->size) + off;
    if (to < 0) return AVERROR(EINVAL);
    r->pos = static_cast<uint64_t>(to);
    return to;
  };
  AVIOContext* pb = avio_alloc_context(buf, kBuf, 0, opaque, read_cb, nullptr, seek_cb);
  if (!pb) {
    delete opaque;
    av_free(buf);
    throw IoError("out of memory");
  }
  AVFormatContext* raw = avformat_alloc_context();
  if (!raw) {
    delete opaque;
    av_freep(&pb->buffer);
    avio_context_free(&pb);
    throw IoError("out of memory");
  }
  raw->pb = pb;
  raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  int ret = avformat_open_input(&raw, nullptr, nullptr, nullptr);
  if (ret < 0) {
    // avformat_open_input freed the context but not our I/O.
    std::string why = opaque->error;
    delete opaque;
    av_freep(&pb->buffer);
    avio_context_free(&pb);
    if (!why.empty()) throw IoError("cannot open " + name + ": " + why);
    throw_av(ret, "cannot open " + name);
  }
  InputFormatPtr ctx(raw);
  if (!probe) return ctx;
  ret = avformat_find_stream_info(ctx.get(), nullptr);
  if (ret < 0) throw_av(ret, "cannot read stream info of " + name);
  return ctx;
}

}  // namespace nex::media
