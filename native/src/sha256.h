// SHA-256 (FIPS 180-4) of a file, as lowercase hex: the bundle's checksums. On x86-64 with
// the SHA extensions the rounds run on them (sha256.cc), elsewhere in portable C++.
#pragma once

#include <string>

namespace kbd {

// Hex digest of the file's bytes; false when it cannot be read.
bool sha256_file(const std::string& path, std::string* hex);
// portable: the portable code even where the CPU's SHA instructions would serve (for tests)
std::string sha256_hex(const void* data, size_t size, bool portable = false);
// whether this CPU's SHA instructions compute the digests (x86-64 with the SHA extensions)
bool sha256_in_hardware();

}  // namespace kbd
