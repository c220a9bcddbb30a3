// Unicode as Python 3.11 sees it (Unicode 14.0.0): UTF-8, NFC, full case mappings.
//
// Text is held as std::u32string (one element per code point), so that lengths and slices are
// in code points as docs/decoding.md counts them. The tables come from Python's unicodedata
// (unicode_data.inc, written by native/tools/gen_unicode.py); the character classes of
// normalisation (drop, alnum, space) come from the bundle's tokenizer.json instead (text.h).
//
//   std::u32string s;
//   kbd::decode_utf8("Cafe\xcc\x81", &s);    // false on invalid UTF-8
//   kbd::nfc(s)                              // U"Caf\u00e9"
//   kbd::lower(U"ΟΔΟΣ")                      // U"οδος" (final sigma)
#pragma once

#include <string>
#include <string_view>

namespace kbd {

// Decodes UTF-8 into code points; false (and *out unspecified) on invalid UTF-8: bad or
// overlong sequences, surrogates, code points past U+10FFFF.
bool decode_utf8(std::string_view in, std::u32string* out);
std::string encode_utf8(std::u32string_view in);
std::u32string from_utf8(std::string_view in);  // for known-valid text (tables, tests)

std::u32string nfc(std::u32string_view in);    // unicodedata.normalize("NFC", s)
std::u32string lower(std::u32string_view in);  // str.lower(): full mapping, final sigma
void append_lower(std::u32string_view in, std::u32string* out);  // out += lower(in)
std::u32string upper(std::u32string_view in);  // str.upper(): full mapping
bool is_decimal(char32_t cp);                  // general category Nd (str.isdecimal)
const char* unicode_version();                 // "14.0.0"

}  // namespace kbd
