// The small XML reader behind the S3 answer parsers (see xml.hpp).
#include "s3/xml.hpp"

#include <cstdint>

#include "nex/error.hpp"

namespace nex::s3::xml {
namespace {

[[noreturn]] void fail(std::string_view what, std::size_t at) {
  throw InputError("malformed XML in the server answer: " + std::string(what) + " at byte " +
                   std::to_string(at));
}

bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool name_char(char c) {
  return !space(c) && c != '/' && c != '>' && c != '<' && c != '=' && c != '"' && c != '\'' &&
         c != '&';
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  Parser(std::string_view s, const Limits& limits) : s_(s), limits_(limits) {}

  Element run() {
    if (s_.size() > limits_.max_bytes) fail("document too large", 0);
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;
    skip_misc();
    if (i_ >= s_.size() || s_[i_] != '<') fail("no root element", i_);

    Element root;
    std::vector<Element*> stack;
    std::vector<std::string_view> raw_names;
    std::string_view raw;
    std::size_t elements = 1;
    if (!start_tag(root, raw)) {
      stack.push_back(&root);
      raw_names.push_back(raw);
    }
    while (!stack.empty()) {
      if (i_ >= s_.size()) fail("unexpected end of document", i_);
      if (s_[i_] != '<') {
        text(stack.back()->text);
      } else if (starts("</")) {
        i_ += 2;
        std::size_t b = i_;
        while (i_ < s_.size() && name_char(s_[i_])) ++i_;
        std::string_view name = s_.substr(b, i_ - b);
        skip_space();
        if (i_ >= s_.size() || s_[i_] != '>') fail("bad end tag", i_);
        ++i_;
        if (name != raw_names.back()) fail("mismatched end tag", b);
        stack.pop_back();
        raw_names.pop_back();
      } else if (starts("<!--")) {
        skip_past("-->", i_ + 4, "unterminated comment");
      } else if (starts("<![CDATA[")) {
        std::size_t b = i_ + 9;
        std::size_t e = s_.find("]]>", b);
        if (e == std::string_view::npos) fail("unterminated CDATA", i_);
        stack.back()->text.append(s_.substr(b, e - b));
        i_ = e + 3;
      } else if (starts("<?")) {
        skip_past("?>", i_ + 2, "unterminated processing instruction");
      } else if (starts("<!")) {
        fail("declarations are not accepted", i_);
      } else {
        if (stack.size() >= limits_.max_depth) fail("elements nested too deeply", i_);
        if (++elements > limits_.max_elements) fail("too many elements", i_);
        Element& child = stack.back()->children.emplace_back();
        if (!start_tag(child, raw)) {
          stack.push_back(&child);
          raw_names.push_back(raw);
        }
      }
    }
    skip_misc();
    if (i_ != s_.size()) fail("content after the root element", i_);
    return root;
  }

 private:
  bool starts(std::string_view p) const { return s_.substr(i_, p.size()) == p; }

  void skip_space() {
    while (i_ < s_.size() && space(s_[i_])) ++i_;
  }

  void skip_past(std::string_view end, std::size_t from, std::string_view what) {
    std::size_t e = from <= s_.size() ? s_.find(end, from) : std::string_view::npos;
    if (e == std::string_view::npos) fail(what, i_);
    i_ = e + end.size();
  }

  // Whitespace, comments and processing instructions outside the root.
  void skip_misc() {
    for (;;) {
      skip_space();
      if (starts("<?")) {
        skip_past("?>", i_ + 2, "unterminated processing instruction");
      } else if (starts("<!--")) {
        skip_past("-->", i_ + 4, "unterminated comment");
      } else if (starts("<!")) {
        fail("declarations are not accepted", i_);
      } else {
        return;
      }
    }
  }

  // At '<'. Fills e.name; returns true for an empty-element tag "<a/>".
  bool start_tag(Element& e, std::string_view& raw) {
    ++i_;
    std::size_t b = i_;
    while (i_ < s_.size() && name_char(s_[i_])) ++i_;
    raw = s_.substr(b, i_ - b);
    if (raw.empty()) fail("bad element name", b);
    std::size_t colon = raw.rfind(':');
    e.name = std::string(colon == std::string_view::npos ? raw : raw.substr(colon + 1));
    for (;;) {
      skip_space();
      if (i_ >= s_.size()) fail("unterminated start tag", b);
      if (s_[i_] == '>') {
        ++i_;
        return false;
      }
      if (starts("/>")) {
        i_ += 2;
        return true;
      }
      // An attribute: name = "value" (skipped).
      std::size_t a = i_;
      while (i_ < s_.size() && name_char(s_[i_])) ++i_;
      if (i_ == a) fail("bad attribute", a);
      skip_space();
      if (i_ >= s_.size() || s_[i_] != '=') fail("attribute without value", i_);
      ++i_;
      skip_space();
      if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'')) fail("unquoted attribute", i_);
      char q = s_[i_++];
      std::size_t e2 = s_.find(q, i_);
      if (e2 == std::string_view::npos) fail("unterminated attribute", i_);
      if (s_.substr(i_, e2 - i_).find('<') != std::string_view::npos) fail("'<' in attribute", i_);
      i_ = e2 + 1;
    }
  }

  // Character data up to the next '<', entities decoded.
  void text(std::string& out) {
    while (i_ < s_.size() && s_[i_] != '<') {
      char c = s_[i_];
      if (c != '&') {
        out.push_back(c);
        ++i_;
        continue;
      }
      std::size_t semi = s_.find(';', i_);
      if (semi == std::string_view::npos || semi - i_ > 12) fail("bad entity", i_);
      std::string_view ent = s_.substr(i_ + 1, semi - i_ - 1);
      if (ent == "lt") out.push_back('<');
      else if (ent == "gt") out.push_back('>');
      else if (ent == "amp") out.push_back('&');
      else if (ent == "quot") out.push_back('"');
      else if (ent == "apos") out.push_back('\'');
      else if (ent.size() >= 2 && ent[0] == '#') append_utf8(out, char_ref(ent.substr(1), i_));
      else fail("unknown entity", i_);
      i_ = semi + 1;
    }
  }

  static std::uint32_t char_ref(std::string_view digits, std::size_t at) {
    int base = 10;
    if (!digits.empty() && (digits[0] == 'x' || digits[0] == 'X')) {
      base = 16;
      digits.remove_prefix(1);
    }
    if (digits.empty()) fail("bad character reference", at);
    std::uint32_t cp = 0;
    for (char c : digits) {
      int v;
      if (c >= '0' && c <= '9') v = c - '0';
      else if (base == 16 && c >= 'a' && c <= 'f') v = c - 'a' + 10;
      else if (base == 16 && c >= 'A' && c <= 'F') v = c - 'A' + 10;
      else fail("bad character reference", at);
      cp = cp * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(v);
      if (cp > 0x10FFFF) fail("character reference out of range", at);
    }
    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) fail("invalid character reference", at);
    return cp;
  }

  std::string_view s_;
  const Limits& limits_;
  std::size_t i_ = 0;
};

}  // namespace

const Element* Element::child(std::string_view local_name) const {
  for (const auto& c : children)
    if (c.name == local_name) return &c;
  return nullptr;
}

std::string Element::child_text(std::string_view local_name) const {
  const Element* c = child(local_name);
  return c ? c->text : std::string();
}

Element parse(std::string_view document, const Limits& limits) {
  return Parser(document, limits).run();
}

}  // namespace nex::s3::xml
