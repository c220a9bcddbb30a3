#include "bundle.h"

#include <sys/stat.h>

#include <sstream>

#include "error.h"
#include "files.h"
#include "sha256.h"

namespace kbd {

using nlohmann::json;

namespace {

const char* kManifest = "manifest.json";
// The roles whose files the native decoder reads (docs/decoding.md section 0). It reads
// tokenizer.json, not tokenizer.model (see docs/native.md, "The tokenizer"). Every listed
// file is checked (size, sha256), read or not; typing.json (role "typing", format 4) is read
// by the predictor when listed (typing.h): without it, no typo correction.
const char* kRequiredRoles[] = {"model", "tokenizer_json"};

// The field `key` of `obj` with the JSON type `want` checks, or a bundle error naming it.
template <typename Check>
const json& field(const json& obj, const std::string& where, const std::string& key,
                  Check is_type, const char* type_name) {
  if (!obj.is_object() || !obj.contains(key))
    throw bundle_error(where + ": missing field '" + key + "'");
  const json& v = obj[key];
  if (!is_type(v)) throw bundle_error(where + ": field '" + key + "' must be " + type_name);
  return v;
}

const json& object_field(const json& o, const std::string& where, const std::string& key) {
  return field(o, where, key, [](const json& v) { return v.is_object(); }, "an object");
}

long long int_field(const json& o, const std::string& where, const std::string& key,
                    long long min) {
  const json& v =
      field(o, where, key, [](const json& x) { return x.is_number_integer(); }, "an integer");
  if (v.get<long long>() < min)
    throw bundle_error(where + ": field '" + key + "' must be at least " + std::to_string(min));
  return v.get<long long>();
}

double unit_field(const json& o, const std::string& where, const std::string& key) {
  const json& v = field(o, where, key, [](const json& x) { return x.is_number(); }, "a number");
  double d = v.get<double>();
  if (!(d > 0.0 && d < 1.0))
    throw bundle_error(where + ": field '" + key + "' must be between 0 and 1");
  return d;
}

std::vector<int> version_parts(const std::string& v) {
  std::vector<int> out;
  std::stringstream ss(v);
  std::string part;
  while (std::getline(ss, part, '.')) out.push_back(std::atoi(part.c_str()));
  return out;
}

Decoding read_decoding(const json& m) {
  const std::string where = std::string(kManifest) + ": decoding";
  const json& d = object_field(m, kManifest, "decoding");
  Decoding out;
  const json& sizes = field(d, where, "batch_sizes", [](const json& v) { return v.is_array(); },
                            "an array");
  for (const auto& s : sizes) {
    if (!s.is_number_integer() || s.get<int>() < 1 ||
        (!out.batch_sizes.empty() && s.get<int>() <= out.batch_sizes.back()))
      throw bundle_error(where + ": field 'batch_sizes' must be ascending positive integers");
    out.batch_sizes.push_back(s.get<int>());
  }
  if (out.batch_sizes.empty() || out.batch_sizes[0] != 1)
    throw bundle_error(where + ": field 'batch_sizes' must include 1");
  out.beam_width = static_cast<int>(int_field(d, where, "beam_width", 1));
  if (out.beam_width > out.batch_sizes.back())
    throw bundle_error(where + ": field 'beam_width' exceeds the largest batch size");
  out.max_context_chars = int_field(d, where, "max_context_chars", 1);
  out.context_stride = int_field(d, where, "context_stride", 1);
  out.short_context_tokens = int_field(d, where, "short_context_tokens", 1);
  out.max_context_tokens = int_field(d, where, "max_context_tokens",
                                     static_cast<long long>(out.short_context_tokens));
  out.max_word_pieces = static_cast<int>(int_field(d, where, "max_word_pieces", 1));
  out.min_ratio = unit_field(d, where, "min_ratio");
  out.covering_width = int_field(d, where, "covering_width", 1);
  out.min_boundary_prob = unit_field(d, where, "min_boundary_prob");
  out.context_cache = int_field(d, where, "context_cache", 1);
  out.row_cache = int_field(d, where, "row_cache", 1);
  const json& hints = field(d, where, "field_hints", [](const json& v) { return v.is_array(); },
                            "an array");
  for (const auto& h : hints) {
    if (!h.is_string()) throw bundle_error(where + ": field 'field_hints' must hold strings");
    out.field_hints.push_back(h.get<std::string>());
  }
  return out;
}

std::vector<FileEntry> read_files(const json& m) {
  std::vector<FileEntry> out;
  for (const auto& [name, e] : object_field(m, kManifest, "files").items()) {
    std::string where = std::string(kManifest) + ": files." + name;
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      throw bundle_error(where + ": not a file name in the bundle folder");
    FileEntry f;
    f.name = name;
    f.bytes = static_cast<uint64_t>(int_field(e, where, "bytes", 0));
    f.sha256 = field(e, where, "sha256", [](const json& v) { return v.is_string(); }, "a string")
                   .get<std::string>();
    f.role = field(e, where, "role", [](const json& v) { return v.is_string(); }, "a string")
                 .get<std::string>();
    f.shipped = field(e, where, "shipped", [](const json& v) { return v.is_boolean(); },
                      "true or false")
                    .get<bool>();
    out.push_back(f);
  }
  return out;
}

void verify_file(const std::string& dir, const FileEntry& f) {
  std::string path = dir + "/" + f.name;
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw bundle_error(path + ": missing file listed in the manifest");
  if (static_cast<uint64_t>(st.st_size) != f.bytes)
    throw bundle_error(path + ": " + std::to_string(st.st_size) + " bytes, the manifest says " +
                       std::to_string(f.bytes) + " (files." + f.name + ".bytes)");
  std::string digest;
  if (!sha256_file(path, &digest)) throw bundle_error(path + ": cannot be read");
  if (digest != f.sha256)
    throw bundle_error(path + ": wrong checksum (files." + f.name +
                       ".sha256; corrupted or replaced file)");
}

}  // namespace

Bundle Bundle::load(const std::string& dir) {
  Bundle b;
  b.dir = dir;
  std::string path = dir + "/" + kManifest;
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error&) {
    throw bundle_error(path + ": missing manifest (is " + dir + " a kbd-lm bundle?)");
  }
  b.manifest = json::parse(text, nullptr, false);
  if (b.manifest.is_discarded()) throw bundle_error(path + ": not valid JSON");
  const json& m = b.manifest;
  if (!m.is_object() || !m.contains("format") || m["format"] != "kbd-lm-bundle")
    throw bundle_error(path + ": field 'format' is not \"kbd-lm-bundle\"");
  long long version = int_field(m, path, "format_version", 0);
  if (version < kMinBundleFormatVersion || version > kBundleFormatVersion)
    throw bundle_error(path + ": format_version " + std::to_string(version) +
                       " is not read by the native decoder, which reads versions " +
                       std::to_string(kMinBundleFormatVersion) + " to " +
                       std::to_string(kBundleFormatVersion) +
                       (version < kMinBundleFormatVersion ? " (re-export the bundle)"
                                                          : " (upgrade kbd-lm)"));
  b.files = read_files(m);
  for (const char* role : kRequiredRoles)
    if (b.path_of(role).empty())
      throw bundle_error(path + ": files: no file with role '" + role + "'");
  for (const auto& f : b.files) verify_file(dir, f);
  b.decoding = read_decoding(m);
  const json& model = object_field(m, path, "model");
  b.embed_dim = static_cast<int>(int_field(model, path + ": model", "embed_dim", 1));
  b.units = static_cast<int>(int_field(model, path + ": model", "units", 1));
  b.vocab_size = static_cast<int>(int_field(model, path + ": model", "vocab_size", 1));
  const json& tok = object_field(m, path, "tokenizer");
  const json& special = object_field(tok, path + ": tokenizer", "special_ids");
  const char* names[] = {"pad", "unk", "bos", "eos"};
  for (int i = 0; i < 4; i++)
    if (int_field(special, path + ": tokenizer.special_ids", names[i], 0) != i)
      throw bundle_error(path + ": tokenizer.special_ids." + names[i] + " must be " +
                         std::to_string(i));
  if (tok.contains("hints")) {
    for (const auto& [name, id] : object_field(tok, path + ": tokenizer", "hints").items()) {
      if (!id.is_number_integer()) throw bundle_error(path + ": tokenizer.hints." + name);
      b.hints[name] = id.get<int>();
    }
  }
  if (m.contains("min_runtime_version")) {
    const json& v = m["min_runtime_version"];
    if (!v.is_string()) throw bundle_error(path + ": field 'min_runtime_version' not a string");
    if (version_parts(v.get<std::string>()) > version_parts(kRuntimeVersion))
      throw bundle_error(path + ": min_runtime_version " + v.get<std::string>() +
                         " is newer than the LiteRT " + kRuntimeVersion + " of this library");
  }
  return b;
}

std::string Bundle::path_of(const std::string& role) const {
  for (const auto& f : files)
    if (f.role == role) return dir + "/" + f.name;
  return "";
}

}  // namespace kbd
