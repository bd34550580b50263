// What the mimrest libraries export. They are built with hidden visibility
// (-fvisibility=hidden -fvisibility-inlines-hidden), so a shared library
// exports only the declarations marked MIMREST_EXPORT, and a static one keeps
// everything unmarked out of the programs and libraries it is linked into.
//
// The rule for every header under include/mimrest/ (add it to new ones):
//   * each class or struct that is not a template:
//       class MIMREST_EXPORT Name { ... };
//   * each free function or operator that is defined in a .cpp file (not
//     inline, not a template), before the return type:
//       MIMREST_EXPORT std::string make_bearer_token();
//     and a friend the same way:
//       friend MIMREST_EXPORT bool operator<(const Jid& a, const Jid& b) noexcept;
// Members of an exported class need nothing more. Templates, inline
// functions, enums and aliases need nothing.
//
// MIMREST_SHARED is defined for the libraries and their users when the
// libraries are shared (the CMake targets and mimrest.pc give it). Building
// shared is supported with GCC and Clang on ELF platforms.
#pragma once

#if defined(MIMREST_SHARED) && (defined(__GNUC__) || defined(__clang__))
#define MIMREST_EXPORT __attribute__((visibility("default")))
#else
#define MIMREST_EXPORT
#endif
