-- The pbx_webhook checks as an operator would write them with lua-nginx:
-- access_by_lua_block { require("pbx_gate").access() } in front of proxy_pass.
-- Same order and statuses as the README for what the benchmark exercises:
-- method, token, content type, JSON syntax, object, type, catalog fields.

local cjson = require "cjson.safe"

local ngx = ngx
local var = ngx.var
local req = ngx.req
local type = type
local ipairs = ipairs
local re_find = ngx.re.find

local datetime = [[^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$]]

local caller = { "caller_id", "user_number", "dest_number" }
local outbound = { "user_number", "dest_number" }
local recording = { "dest_number", "call_recording_link" }

-- type -> required fields besides type and unique_call_id; a name of the
-- form { name, "datetime" } needs that kind, the others are strings.
local catalog = {
    webhook_component_event = { "user_name", "user_number", "dest_number",
                                { "call_start_at", "datetime" }, "component_name" },
    user_inbound = caller,
    user_inbound_answered = caller,
    user_inbound_completed = caller,
    user_outbound = outbound,
    user_outbound_answered = outbound,
    user_outbound_completed = outbound,
    queue_call = { "caller_id", "dest_number", "queue_name" },
    ring_group_call = { "caller_id", "dest_number", "ring_group_name" },
    voicemail = { "caller_id", "dest_number" },
    recording_inbound = recording,
    recording_outbound = recording,
}

local secrets = {}

local _M = {}

function _M.configure(list)
    secrets = {}
    for _, s in ipairs(list) do
        secrets[s] = true
    end
end

local function reject(status)
    return ngx.exit(status)
end

local function read_body()
    req.read_body()
    local body = req.get_body_data()
    if body then
        return body
    end
    -- client_body_buffer_size was smaller than the body: it is on disk
    local path = req.get_body_file()
    if not path then
        return nil
    end
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    body = f:read("*a")
    f:close()
    return body
end

function _M.access()
    if req.get_method() ~= "POST" then
        ngx.header["Allow"] = "POST"
        return reject(405)
    end

    local token = var.http_x_pbx_token
    if not token or not secrets[token] then
        return reject(401)
    end

    local ct = var.content_type
    if not ct or not re_find(ct, [[^application/([a-z0-9.+-]*\+)?json\s*(;|$)]], "joi") then
        return reject(415)
    end

    local body = read_body()
    if not body or body == "" then
        return reject(400)
    end

    local event = cjson.decode(body)
    if event == nil then
        return reject(400)
    end
    if type(event) ~= "table" or not re_find(body, [[^\s*\{]], "jo") then
        return reject(422)
    end

    local t = event.type
    if type(t) ~= "string" or t == "" then
        return reject(422)
    end
    local u = event.unique_call_id
    if u == nil then
        return reject(422)
    end

    local fields = catalog[t]
    if not fields then
        return reject(422)
    end
    for _, f in ipairs(fields) do
        local name = type(f) == "table" and f[1] or f
        if event[name] == nil then
            return reject(422)
        end
    end

    if type(u) ~= "string" or u == "" then
        return reject(422)
    end
    for _, f in ipairs(fields) do
        if type(f) == "table" then
            local v = event[f[1]]
            if type(v) ~= "string" or not re_find(v, datetime, "jo") then
                return reject(422)
            end
        elseif type(event[f]) ~= "string" then
            return reject(422)
        end
    end
end

return _M
