#pragma once
#include "media/mp4_tags.hpp"
// Internal: the machinery behind nex/cut.hpp. Sources (segment files opened
// and indexed from their moov), plans (which frames of which file go where
// on the output timeline), a pull-based frame reader, encoders, the audio
// builder and the MP4 writer.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/audio_fifo.h>
}

#include "media/ffmpeg_util.hpp"
#include "nex/card.hpp"
#include "nex/context.hpp"
#include "nex/cut.hpp"
#include "nex/fsutil.hpp"
#include "nex/source.hpp"

namespace nex::cut::detail {

namespace fs = std::filesystem;

struct CodecParDeleter {
  void operator()(AVCodecParameters* p) const noexcept { avcodec_parameters_free(&p); }
};
using CodecParPtr = std::unique_ptr<AVCodecParameters, CodecParDeleter>;

// One video frame of a source, in display order (sorted by pts).
struct FrameEntry {
  int64_t ts = 0;    // pts, video time base (the presentation time after the edit list)
  int64_t dts = 0;   // decode timestamp
  int64_t dur = 0;   // packet duration (0 when unknown)
  uint32_t dec = 0;  // position in decode order
  bool key = false;  // sync sample (IDR, or an open-GOP I / CRA)
  // A copy may follow re-encoded pictures from here: HEVC IRAPs (IDR, CRA,
  // BLA: after an end-of-sequence NAL a CRA starts a new sequence), H.264
  // IDRs only (after an open-GOP I-frame a decoder derives its picture order
  // from the re-encoded pictures before it and shows frames out of order).
  // Read it through Input::joinable_at: over a camera it is found out only
  // for the keyframes a cut asks about (mutable: a lazily filled cache).
  mutable bool joinable = false;
  mutable bool joinable_known = true;
  int64_t pos = -1;  // the packet's bytes in the file (index from the sample table)
  int size = 0;
};

// Where a segment file is read from: the filesystem, or a camera's ranged
// reads through the card's Source.
struct MediaRef {
  fs::path file;                   // the local path, or "<camera URL>/<rel>" for messages
  std::shared_ptr<Source> source;  // set for a camera
  std::string rel;
  uint64_t size = 0;
};
MediaRef media_ref(const CardScan& scan, const CardFile& f);
media::InputFormatPtr open_media(const MediaRef& m, bool probe = false);

// One segment file, opened and indexed: every video packet's timestamps and
// flags (the packets are read once; their data is not kept).
struct Input {
  fs::path file;     // for messages (media.file)
  MediaRef media;
  LocalTime start;  // capture time of the first presented frame (the recording's instant)
  // The first presented frame's ts: capture times count from it (time_of).
  // 0 with an edit list; without one, a B-frame stream's first frame is
  // shown at the B-frame delay (docs/nexcut.md, "Timeline").
  int64_t origin = 0;
  media::InputFormatPtr fmt;
  int v = -1, a = -1;
  AVRational vtb{1, 90000};
  AVRational fps{30, 1};
  std::vector<FrameEntry> frames;     // display order
  std::vector<uint32_t> decode;       // display index of each decode position
  int64_t v_end = 0;  // end of the last frame
  bool reorder = false;  // decode order differs from display order (B-frames)
  int nal_length_size = 0;  // avcC/hvcC NAL length field (0: Annex B)
  bool from_table = false;  // indexed from the sample table, packets not read
  std::string make, model, location;

  // Whether a copy may follow re-encoded pictures at display frame k.
  bool joinable_at(size_t k) const;
  // The timestamp to pass to av_seek_frame (AVSEEK_FLAG_BACKWARD) so that
  // reading starts at keyframe k (display index).
  int64_t seek_ts(size_t k) const;

  AVStream* vst() const { return fmt->streams[v]; }
  int64_t end_ts(size_t i) const {
    return i + 1 < frames.size() ? frames[i + 1].ts : v_end;
  }
  // Capture time (ms, rounded down) of a timestamp.
  LocalTime time_of(int64_t ts) const;
  // Display index of the frame at decode position `d`.
  size_t at_dec(size_t d) const { return decode[d]; }
  // The largest decode position among display frames [from, to].
  size_t max_dec(size_t from, size_t to) const;
  // Clean cut points of a copy that starts at keyframe `k` (display index):
  // every e such that the decode-order packets from k's up to some point are
  // exactly the display frames [k, e] (leading pictures of k, shown before
  // it, left out). A stream copy may end at such an e and nowhere else.
  std::vector<size_t> clean_ends(size_t k, size_t limit) const;
};
std::unique_ptr<Input> open_source(const MediaRef& media, LocalTime start);
// The same file indexed as `in` is, on a handle of its own (for a reader on
// another thread): the index is copied, not read again.
std::unique_ptr<Input> reopen(const Input& in);
inline std::unique_ptr<Input> open_source(const fs::path& file, LocalTime start) {
  return open_source(MediaRef{file, nullptr, {}, 0}, start);
}

struct Piece {
  std::unique_ptr<Input> in;
  const Recording* rec = nullptr;
  size_t first = 0, last = 0;  // selected frames, inclusive
  int64_t out_offset = 0;      // output ts of frames[first]
  AVRational otb{0, 1};        // the clip's video time base (0/1: the file's own)
  // A timestamp of the file (its time base) on the clip's timeline (otb).
  int64_t out_ts(int64_t ts) const { return out_span(ts - in->frames[first].ts) + out_offset; }
  // A span of the file's time base in the clip's.
  int64_t out_span(int64_t d) const { return otb.num == 0 ? d : av_rescale_q(d, in->vtb, otb); }
  int64_t duration() const { return out_span(in->end_ts(last) - in->frames[first].ts); }
};

struct Plan {
  Camera camera = Camera::Road;
  LocalTime from, to;          // requested window after clamping
  std::vector<Piece> pieces;
  AVRational tb{1, 90000};     // the clip's video time base (every piece's otb)

  int64_t frames() const;
  int64_t duration() const;    // output video duration (video tb)
  AVRational vtb() const { return tb; }
  LocalTime start() const { return pieces.front().in->time_of(pieces.front().in->frames[pieces.front().first].ts); }
  LocalTime end() const;
  void layout();               // out_offset of every piece, back to back
};

// The recordings of `camera` covering [from, to), with from/to clamped to the
// footage (warning). Throws InputError for no footage, gaps, truncated files.
std::vector<const Recording*> footage_for(const CardScan& scan, LocalTime& from, LocalTime& to, Camera camera,
                                          const Context& ctx);
// Opens and indexes the files; selects the frames whose capture time lies in
// [from, to). snap: start at the keyframe at or before the first frame.
Plan plan_clip(const CardScan& scan, LocalTime from, LocalTime to, Camera camera, bool snap, const Context& ctx);

// Frames [from, to] (inclusive indices) of one piece.
struct Range {
  Piece* piece = nullptr;
  size_t from = 0, to = 0;
};
std::vector<Range> whole(Plan& plan);

// Decodes the frames of a list of ranges in order. The frame returned stays
// valid until the next call.
class FrameReader {
 public:
  FrameReader(std::vector<Range> ranges, bool keys_only, const Context& ctx);
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;
  // Next frame and its output timestamp (video tb), nullptr at the end.
  AVFrame* next(int64_t* out_ts, size_t* index = nullptr);

 private:
  void start_range();
  std::vector<Range> ranges_;
  bool keys_only_;
  const Context& ctx_;
  size_t cur_ = 0;
  bool started_ = false, flushing_ = false;
  int skip_nonref_ = 0;  // 1 H.264, 2 HEVC: unshown non-reference pictures are not fed
  size_t feed_dec_ = 0, last_dec_ = 0;  // decode positions: next packet fed, last one needed
  media::CodecContextPtr dec_;
  media::PacketPtr pkt_;
  media::FramePtr frame_;
};

// Stream-copies the packets of ranges to `sink` with output timestamps.
void copy_packets(const std::vector<Range>& ranges, const Context& ctx, const std::function<void(AVPacket*)>& sink);

// libx264 through FFmpeg.
struct EncoderSetup {
  int width = 0, height = 0;
  AVPixelFormat pix_fmt = AV_PIX_FMT_YUV420P;
  AVRational time_base{1, 30};
  AVRational fps{30, 1};
  AVRational sar{1, 1};
  AVColorRange range = AVCOL_RANGE_MPEG;
  AVColorSpace space = AVCOL_SPC_UNSPECIFIED;
  AVColorPrimaries primaries = AVCOL_PRI_UNSPECIFIED;
  AVColorTransferCharacteristic trc = AVCOL_TRC_UNSPECIFIED;
  int gop = 30;
  int64_t bitrate = 0;   // ABR when > 0
  int crf = 21;
  std::string preset = "veryfast";
  std::string profile = "high";
  std::string level;     // "" = let x264 choose
  std::string params;    // x264-params / x265-params
  bool inband = false;   // x265: parameter sets in the stream (repeat-headers), no global header
  int threads = 0;
};
media::CodecContextPtr open_x264(const EncoderSetup& s);
// libx265 through FFmpeg (s.params as x265-params, s.profile main|main10).
media::CodecContextPtr open_x265(const EncoderSetup& s);
// The encoder of a whole re-encode: libx264 for "h264", libx265 for "hevc".
media::CodecContextPtr open_encoder(const EncoderSetup& s, const std::string& codec);
// Encodes one frame (nullptr flushes) and hands every packet out.
void encode(AVCodecContext* enc, AVFrame* frame, const std::function<void(AVPacket*)>& sink);

// The clip's audio: for each piece, the source's samples over the same span
// as its video, decoded, joined and encoded once (AAC, the source's rate,
// channels and bitrate). Empty packets when the source has no audio.
struct EncodedAudio {
  CodecParPtr par;
  AVRational tb{1, 48000};
  std::vector<media::PacketPtr> packets;
  int64_t samples = 0;
};
struct AudioSpan {
  MediaRef media;
  AVRational vtb{1, 90000};          // the source file's video time base
  AVRational otb{1, 90000};          // the clip's
  int64_t src_from = 0;              // vtb, in the source file
  int64_t out_from = 0, out_to = 0;  // otb, on the output timeline
};
// pcm: keep the sound PCM in that codec (a QuickTime clip of PCM footage:
// kept_pcm) instead of encoding AAC.
EncodedAudio build_audio(const std::vector<AudioSpan>& spans, const Context& ctx, AVCodecID pcm = AV_CODEC_ID_NONE);
// The PCM codec every piece's audio has (sowt: pcm_s16le, twos: pcm_s16be,
// lpcm: e.g. pcm_s24le); AV_CODEC_ID_NONE when one has none or another.
AVCodecID kept_pcm(const Plan& plan);
// The output is QuickTime (.mov, .MOV): the Muxer writes "mov".
bool quicktime_output(const fs::path& out);
std::vector<AudioSpan> audio_spans(const Plan& plan);

struct MuxMeta {
  LocalTime start;          // camera-local time of the first frame
  int utc_offset_min = 0;
  std::optional<double> lat, lon;
  std::string location;     // ISO 6709 fallback (from the source) when lat/lon unknown
  std::string make, model, comment;
};

// MP4 / QuickTime writer: temporary name, moov reserved at the front (faststart without
// a second pass), rename on finish.
class Muxer {
 public:
  // format: "mp4", or "mov" (QuickTime: PCM audio); nullptr: by the
  // output's name (quicktime_output)
  Muxer(const fs::path& out, bool overwrite, const char* format = nullptr);
  ~Muxer();
  Muxer(const Muxer&) = delete;
  Muxer& operator=(const Muxer&) = delete;
  AVStream* add_stream(const AVCodecParameters* par, AVRational tb, AVRational fps = {0, 1}, uint32_t tag = 0);
  void start(const MuxMeta& meta, int64_t total_samples);
  // Packets in the time base passed to add_stream.
  void write(AVPacket* pkt, int stream);
  // Audio waits in a queue and is interleaved with the video by time.
  void queue(std::vector<media::PacketPtr> pkts, int stream);
  uint64_t finish();
  // Starts writing back to the disk what is written so far (it does not
  // wait), so that finish()'s fsync has less left to wait for: called where
  // the clip waits for work of its own (a re-encoded run on a worker).
  void writeback();
  const fs::path& path() const { return out_; }

 private:
  void flush_queue_until(int64_t ts, AVRational tb);
  fs::path out_, tmp_;
  TempFileGuard guard_;
  media::OutputFormatPtr oc_;
  std::vector<AVRational> tbs_;
  std::vector<media::PacketPtr> queued_;
  size_t queued_pos_ = 0;
  int queued_stream_ = -1;
  bool started_ = false;
};

// Checks before any work: the output folder exists; an existing file needs overwrite.
void check_output(const fs::path& out, bool overwrite);

// GPS position at a capture time (from the .gps sidecars), if any.
std::optional<std::pair<double, double>> position_at(const CardScan& scan, LocalTime t);
MuxMeta meta_for(const CardScan& scan, const Plan& plan, const std::string& what);

using media::iso6709;
using media::iso_utc;

}  // namespace nex::cut::detail
