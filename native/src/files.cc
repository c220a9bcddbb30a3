#include "files.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "error.h"

namespace kbd {

std::string read_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw bundle_error(path + ": cannot be read");
  std::string out;
  // the size first, so that the bytes land in one buffer of that size; a file that grows
  // meanwhile is read to its end all the same
  long size = std::fseek(f, 0, SEEK_END) == 0 ? std::ftell(f) : -1;
  std::rewind(f);
  if (size > 0) {
    out.resize(static_cast<size_t>(size));
    out.resize(std::fread(&out[0], 1, out.size(), f));
  }
  char buf[1 << 12];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw bundle_error(path + ": cannot be read");
  return out;
}

nlohmann::json read_json(const std::string& path) {
  nlohmann::json doc = nlohmann::json::parse(read_file(path), nullptr, false);
  if (doc.is_discarded()) throw bundle_error(path + ": not valid JSON");
  return doc;
}

}  // namespace kbd
