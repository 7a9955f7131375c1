#pragma once

#include <string_view>

namespace pbxwebhook {

// The built-in catalog as `pbx_webhook_event` lines would write it.
struct CatalogEntry {
    std::string_view type;
    std::string_view fields;
};

extern const CatalogEntry catalog_entries[];
extern const std::size_t catalog_size;

}  // namespace pbxwebhook
