#include "request_head.hpp"

#include "media_type.hpp"

namespace pbxwebhook {

namespace {

Verdict check_method(std::string_view method) noexcept
{
    if (method == "POST") {
        return Verdict::accept();
    }
    char quoted[24];
    quote_for_detail(method, quoted, sizeof(quoted) - 1);
    return Verdict::reject(Reason::method, "method %s not allowed", quoted);
}

Verdict check_token_count(const RequestHead &head, std::string_view header) noexcept
{
    int len = static_cast<int>(header.size());
    if (head.token_count == 0) {
        return Verdict::reject(Reason::token_missing, "no \"%.*s\" header", len, header.data());
    }
    if (head.token_count > 1) {
        return Verdict::reject(Reason::token_repeated, "\"%.*s\" header sent %lu times", len,
                               header.data(), static_cast<unsigned long>(head.token_count));
    }
    return Verdict::accept();
}

Verdict check_content_type(const std::optional<std::string_view> &type) noexcept
{
    if (!type) {
        return Verdict::reject(Reason::content_type, "no content type");
    }
    if (!is_json_media_type(*type)) {
        char quoted[48];
        quote_for_detail(*type, quoted, sizeof(quoted) - 1);
        return Verdict::reject(Reason::content_type, "content type \"%s\" is not JSON", quoted);
    }
    return Verdict::accept();
}

Verdict check_length(std::int64_t length, std::size_t limit) noexcept
{
    if (length < 0 || static_cast<std::uint64_t>(length) <= limit) {
        return Verdict::accept();
    }
    return Verdict::reject(Reason::body_too_large, "body %llu bytes > %zu",
                           static_cast<unsigned long long>(length), limit);
}

}  // namespace

HeadCheck check_request_head(const RequestHead &head, const HeadRules &rules) noexcept
{
    HeadCheck check{check_method(head.method), 0};
    if (!check.verdict.accepted()) {
        return check;
    }

    check.verdict = check_token_count(head, rules.token_header);
    if (!check.verdict.accepted()) {
        return check;
    }

    check.token_id = rules.secrets.match(head.token);
    if (check.token_id == 0) {
        check.verdict = Verdict::reject(Reason::token_mismatch, "token matches no secret");
        return check;
    }

    if (rules.content_type) {
        check.verdict = check_content_type(head.content_type);
        if (!check.verdict.accepted()) {
            return check;
        }
    }

    check.verdict = check_length(head.content_length, rules.max_body_size);
    return check;
}

}  // namespace pbxwebhook
