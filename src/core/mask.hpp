#pragma once

#include <cstddef>
#include <string_view>

namespace pbxwebhook {

// Phone numbers in access logs are personal data; the last few digits are
// usually enough to tell calls apart. Copies text to out (text.size()
// bytes) with every ASCII digit but the last keep replaced by '*'; other
// bytes are copied unchanged. out may be text.data().
void mask_digits(std::string_view text, std::size_t keep, char *out) noexcept;

}  // namespace pbxwebhook
