#include "catalog.hpp"

namespace pbxwebhook {

const CatalogEntry catalog_entries[] = {
    {"webhook_component_event",
     "user_name user_number dest_number call_start_at:datetime component_name"},
    {"user_inbound", "caller_id user_number dest_number"},
    {"user_inbound_answered", "caller_id user_number dest_number"},
    {"user_inbound_completed", "caller_id user_number dest_number"},
    {"user_outbound", "user_number dest_number"},
    {"user_outbound_answered", "user_number dest_number"},
    {"user_outbound_completed", "user_number dest_number"},
    {"queue_call", "caller_id dest_number queue_name"},
    {"ring_group_call", "caller_id dest_number ring_group_name"},
    {"voicemail", "caller_id dest_number"},
    {"recording_inbound", "dest_number call_recording_link"},
    {"recording_outbound", "dest_number call_recording_link"},
};

const std::size_t catalog_size = sizeof(catalog_entries) / sizeof(catalog_entries[0]);

}  // namespace pbxwebhook
