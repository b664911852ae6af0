#pragma once
// A small, bounds-safe XML reader for S3 answers: elements, text, entities,
// CDATA, comments, processing instructions; attributes are skipped (S3
// answers carry nothing in them that we need). No DTDs (refused, so no entity
// expansion), no external anything. A pure function over a string_view:
// it never reads outside the view and never recurses, so malformed or hostile
// input ends in nex::InputError, not in a crash.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nex::s3::xml {

struct Element {
  std::string name;  // local name: a "prefix:" is dropped
  std::string text;  // the element's own character data, entities decoded
  std::vector<Element> children;

  // First child with that local name, or nullptr.
  const Element* child(std::string_view local_name) const;
  // Text of the first child with that name ("" if there is none).
  std::string child_text(std::string_view local_name) const;
};

struct Limits {
  std::size_t max_depth = 64;
  std::size_t max_elements = 1u << 20;
  std::size_t max_bytes = 64u << 20;
};

// Parse a whole document; returns its root element. Throws nex::InputError.
Element parse(std::string_view document, const Limits& limits = {});

}  // namespace nex::s3::xml
