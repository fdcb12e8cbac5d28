// error.h — the one error type of v4lab (STYLE 15): a message, where it happened, and an exit code.
// Library code throws v4lab::Error; only the CLI and GUI turn it into an exit code or a dialog.
#pragma once
#include <stdexcept>
#include <string>

namespace v4lab {

enum class ErrorKind {
  Config,   // bad scenario/preset/flag/input file: exit code 2
  Usage,    // bad command line: exit code 2
  Runtime,  // failure while doing valid work (I/O, SQLite, device): exit code 1
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string where = {})
      : std::runtime_error(where.empty() ? message : where + ": " + message),
        kind_(kind), message_(std::move(message)), where_(std::move(where)) {}
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  const std::string& where() const { return where_; }  // "file:line", "key", op name... may be empty
  int exit_code() const { return kind_ == ErrorKind::Runtime ? 1 : 2; }

 private:
  ErrorKind kind_;
  std::string message_;
  std::string where_;
};

inline Error config_error(std::string msg, std::string where = {}) {
  return Error(ErrorKind::Config, std::move(msg), std::move(where));
}
inline Error usage_error(std::string msg, std::string where = {}) {
  return Error(ErrorKind::Usage, std::move(msg), std::move(where));
}
inline Error runtime_error(std::string msg, std::string where = {}) {
  return Error(ErrorKind::Runtime, std::move(msg), std::move(where));
}

}  // namespace v4lab
