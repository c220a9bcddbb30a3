// SHA-256 (FIPS 180-4) of a file, as lowercase hex: the bundle's checksums.
#pragma once

#include <string>

namespace kbd {

// Hex digest of the file's bytes; false when it cannot be read.
bool sha256_file(const std::string& path, std::string* hex);
std::string sha256_hex(const void* data, size_t size);

}  // namespace kbd
