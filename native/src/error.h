// The one error type inside the library: a status code of kbd_lm.h and a message naming the
// file, field or argument at fault. The C interface (kbd_lm.cc) turns it into a code and a
// message; no exception crosses it.
#pragma once

#include <stdexcept>
#include <string>

#include "kbd_lm.h"

namespace kbd {

class Error : public std::runtime_error {
 public:
  Error(kbd_lm_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  kbd_lm_status status() const { return status_; }

 private:
  kbd_lm_status status_;
};

inline Error bundle_error(const std::string& message) { return Error(KBD_LM_ERR_BUNDLE, message); }

}  // namespace kbd
