#include "nex/output.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace nex {

std::optional<Format> parse_format(std::string_view s) {
  if (s == "table") return Format::Table;
  if (s == "json") return Format::Json;
  if (s == "ndjson") return Format::Ndjson;
  if (s == "csv") return Format::Csv;
  return std::nullopt;
}

const char* to_string(Format f) {
  switch (f) {
    case Format::Table: return "table";
    case Format::Json: return "json";
    case Format::Ndjson: return "ndjson";
    case Format::Csv: return "csv";
  }
  return "";
}

std::string cell_text(const ojson& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v.get<double>());
    return buf;
  }
  if (v.is_array()) {
    std::string s;
    for (const auto& e : v) {
      if (!s.empty()) s += ',';
      s += cell_text(e);
    }
    return s.empty() ? "-" : s;
  }
  return v.dump();
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void Records::write(std::ostream& out, Format f) const {
  switch (f) {
    case Format::Json: {
      ojson arr = ojson::array();
      for (const auto& r : rows_) arr.push_back(r);
      out << arr.dump(2) << '\n';
      return;
    }
    case Format::Ndjson:
      for (const auto& r : rows_) out << r.dump() << '\n';
      return;
    case Format::Csv: {
      for (size_t i = 0; i < columns_.size(); ++i) out << (i ? "," : "") << csv_field(columns_[i].key);
      out << '\n';
      for (const auto& r : rows_) {
        for (size_t i = 0; i < columns_.size(); ++i) {
          const auto it = r.find(columns_[i].key);
          std::string cell = it == r.end() || it->is_null() ? "" : cell_text(*it);
          out << (i ? "," : "") << csv_field(cell);
        }
        out << '\n';
      }
      return;
    }
    case Format::Table: {
      std::vector<std::vector<std::string>> cells;
      std::vector<size_t> width;
      for (const auto& c : columns_) width.push_back(c.header.size());
      for (const auto& r : rows_) {
        std::vector<std::string> line;
        for (size_t i = 0; i < columns_.size(); ++i) {
          const auto it = r.find(columns_[i].key);
          line.push_back(it == r.end() ? "-" : cell_text(*it));
          width[i] = std::max(width[i], line.back().size());
        }
        cells.push_back(std::move(line));
      }
      auto emit = [&](const std::vector<std::string>& line) {
        std::string s;
        for (size_t i = 0; i < line.size(); ++i) {
          const size_t pad = width[i] - line[i].size();
          if (i) s += "  ";
          if (columns_[i].right) s += std::string(pad, ' ') + line[i];
          else s += line[i] + (i + 1 < line.size() ? std::string(pad, ' ') : "");
        }
        out << s << '\n';
      };
      std::vector<std::string> head;
      for (const auto& c : columns_) head.push_back(c.header);
      emit(head);
      for (const auto& l : cells) emit(l);
      return;
    }
  }
}

}  // namespace nex
