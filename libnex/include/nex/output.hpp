#pragma once
// Tabular data in the four output formats every tool offers. JSON keys are
// stable and ordered; table and CSV show the declared columns; JSON and
// NDJSON carry whole records.
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nex {

using ojson = nlohmann::ordered_json;

enum class Format { Table, Json, Ndjson, Csv };
std::optional<Format> parse_format(std::string_view s);
const char* to_string(Format f);

struct Column {
  std::string key;      // record key (also the CSV header)
  std::string header;   // table header
  bool right = false;   // right-align in tables (numbers)
};

class Records {
 public:
  explicit Records(std::vector<Column> columns) : columns_(std::move(columns)) {}
  void add(ojson row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size(); }
  const std::vector<ojson>& rows() const { return rows_; }
  void write(std::ostream& out, Format f) const;

 private:
  std::vector<Column> columns_;
  std::vector<ojson> rows_;
};

// A table cell for a JSON value: strings as is, null as "-", bools yes/no,
// arrays joined with ",".
std::string cell_text(const ojson& v);
// RFC 4180 field quoting.
std::string csv_field(std::string_view s);

}  // namespace nex
