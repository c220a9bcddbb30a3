// Reading a bundle's files whole: one read into a buffer of the file's size (no stream
// copies), errors as bundle errors naming the file.
//
//   std::string bytes = read_file("dist/bundle/model.tflite");   // throws kbd::Error
//   nlohmann::json doc = read_json("dist/bundle/typing.json");   // "...: not valid JSON"
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace kbd {

// The file's bytes; a bundle error "PATH: cannot be read" when it cannot be opened or read.
std::string read_file(const std::string& path);
// The file parsed as JSON; a bundle error naming the file when it is not.
nlohmann::json read_json(const std::string& path);

}  // namespace kbd
