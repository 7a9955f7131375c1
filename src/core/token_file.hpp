#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pbxwebhook {

// Shorter secrets are accepted with a warning: they can be guessed.
constexpr std::size_t short_secret_length = 16;
constexpr std::uint64_t token_file_limit = 1024 * 1024;

// What configuration says about a secret or its file. The adapter prints
// the text after the directive's name (and the file's), at the severity.
struct ConfNote {
    enum Severity { warning, error };
    Severity severity;
    std::string text;
};

// A secret and the line of the token file it is on.
struct FileSecret {
    std::string_view text;
    std::size_t line;
};

struct TokenFile {
    std::vector<FileSecret> secrets;  // point into the text parsed
    std::vector<ConfNote> notes;  // an error among them: the file is not usable
};

// What the file's metadata says before it is read; an error means it must
// not be read.
std::vector<ConfNote> judge_token_file(std::uint64_t size, bool readable_by_others);

// One secret per line, surrounding blanks trimmed, blank lines skipped;
// lines are numbered from 1.
TokenFile parse_token_file(std::string_view text);

// The warning a secret earns, or an empty string.
std::string secret_warning(std::string_view secret);

}  // namespace pbxwebhook
