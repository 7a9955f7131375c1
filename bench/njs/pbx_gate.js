// The pbx_webhook checks as an operator would write them with njs 0.7.
//
// njs has no access-phase handler that can read a request body, so the gate
// is a js_content handler: njs reads the body before calling it, the handler
// checks it and hands a good event to a named location with
// r.internalRedirect(), where proxy_pass sends the body already read.
// Same order and statuses as the README for what the benchmark exercises.

const DATETIME = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$/;
const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

const caller = ['caller_id', 'user_number', 'dest_number'];
const outbound = ['user_number', 'dest_number'];
const recording = ['dest_number', 'call_recording_link'];

// type -> required fields besides type and unique_call_id; [name, 'datetime']
// needs that kind, the others are strings.
const catalog = {
    webhook_component_event: ['user_name', 'user_number', 'dest_number',
                              ['call_start_at', 'datetime'], 'component_name'],
    user_inbound: caller,
    user_inbound_answered: caller,
    user_inbound_completed: caller,
    user_outbound: outbound,
    user_outbound_answered: outbound,
    user_outbound_completed: outbound,
    queue_call: ['caller_id', 'dest_number', 'queue_name'],
    ring_group_call: ['caller_id', 'dest_number', 'ring_group_name'],
    voicemail: ['caller_id', 'dest_number'],
    recording_inbound: recording,
    recording_outbound: recording,
};

function verdict(r) {
    if (r.method !== 'POST') {
        r.headersOut['Allow'] = 'POST';
        return 405;
    }

    // $pbx_secrets: the accepted secrets, space separated (js_var)
    const token = r.headersIn['X-Pbx-Token'];
    if (token === undefined || r.variables.pbx_secrets.split(' ').indexOf(token) < 0) {
        return 401;
    }

    const ct = r.headersIn['Content-Type'];
    if (ct === undefined || !JSON_TYPE.test(ct)) {
        return 415;
    }

    // undefined when the body went to a temp file: refuse rather than pass
    const body = r.requestText;
    if (body === undefined || body.length === 0) {
        return 400;
    }

    let event;
    try {
        event = JSON.parse(body);
    } catch (e) {
        return 400;
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
        return 422;
    }

    const t = event.type;
    if (typeof t !== 'string' || t.length === 0 || event.unique_call_id === undefined) {
        return 422;
    }
    const fields = catalog.hasOwnProperty(t) ? catalog[t] : undefined;
    if (fields === undefined) {
        return 422;
    }

    for (let i = 0; i < fields.length; i++) {
        const name = typeof fields[i] === 'string' ? fields[i] : fields[i][0];
        if (event[name] === undefined) {
            return 422;
        }
    }

    const u = event.unique_call_id;
    if (typeof u !== 'string' || u.length === 0) {
        return 422;
    }
    for (let i = 0; i < fields.length; i++) {
        const f = fields[i];
        if (typeof f === 'string') {
            if (typeof event[f] !== 'string') {
                return 422;
            }
        } else if (typeof event[f[0]] !== 'string' || !DATETIME.test(event[f[0]])) {
            return 422;
        }
    }
    return 0;
}

function check(r) {
    const status = verdict(r);
    if (status === 0) {
        r.internalRedirect('@backend');
        return;
    }
    r.return(status);
}

export default { check };
