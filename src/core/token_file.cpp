#include "token_file.hpp"

namespace pbxwebhook {

namespace {

bool is_blank(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view text) noexcept
{
    while (!text.empty() && is_blank(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_blank(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

}  // namespace

std::vector<ConfNote> judge_token_file(std::uint64_t size, bool readable_by_others)
{
    if (size > token_file_limit) {
        return {{ConfNote::error, "is larger than " + std::to_string(token_file_limit) + " bytes"}};
    }
    if (readable_by_others) {
        return {{ConfNote::warning, "is readable by others"}};
    }
    return {};
}

std::string secret_warning(std::string_view secret)
{
    if (secret.size() >= short_secret_length) {
        return {};
    }
    return "secret is shorter than " + std::to_string(short_secret_length) + " bytes";
}

TokenFile parse_token_file(std::string_view text)
{
    TokenFile file;
    std::size_t line = 0;

    while (!text.empty()) {
        std::size_t eol = text.find('\n');
        std::string_view secret = trim(text.substr(0, eol));
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        line++;

        if (secret.empty()) {
            continue;
        }
        file.secrets.push_back({secret, line});

        if (secret.front() == '#') {
            file.notes.push_back({ConfNote::warning, "line " + std::to_string(line)
                                                         + ": starts with \"#\", which makes it a "
                                                           "secret, not a comment"});
        }

        std::string warning = secret_warning(secret);
        if (!warning.empty()) {
            file.notes.push_back(
                {ConfNote::warning, "line " + std::to_string(line) + ": " + warning});
        }
    }

    if (file.secrets.empty()) {
        file.notes.push_back({ConfNote::error, "has no secret"});
    }
    return file;
}

}  // namespace pbxwebhook
