#pragma once
// The small error family every tool maps to exit codes in one place (cli.cpp).
#include <stdexcept>
#include <string>

namespace nex {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitPartial = 3,  // problems found / partly done
  kExitInterrupted = 130,
};

// Base: a failure with an optional hint shown on a second line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, std::string hint = {})
      : std::runtime_error(what), hint_(std::move(hint)) {}
  const std::string& hint() const noexcept { return hint_; }
  virtual int exit_code() const noexcept { return kExitError; }

 private:
  std::string hint_;
};

// The command line was wrong (bad flag value, unknown model, bad time).
class UsageError : public Error {
 public:
  using Error::Error;
  int exit_code() const noexcept override { return kExitUsage; }
};

// The input (card, file, server answer) is unusable.
class InputError : public Error {
 public:
  using Error::Error;
};

// Reading or writing failed (disk full, permissions, network).
class IoError : public Error {
 public:
  using Error::Error;
};

// Thrown when SIGINT/SIGTERM asked us to stop; maps to 130.
class Interrupted : public Error {
 public:
  Interrupted() : Error("interrupted") {}
  int exit_code() const noexcept override { return kExitInterrupted; }
};

}  // namespace nex
