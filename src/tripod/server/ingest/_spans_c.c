/* The span fast path's compiled half: an OTLP ExportTraceServiceRequest body to the span store's
 * columns, for the spans that the common case covers (ids of 16 and 8 bytes, string, int and
 * bool attributes with distinct keys, no events or links, times before 2262).
 *
 * Everything else is handed back to Python, so the answers stay those of the pure-Python path
 * (tripod.server.ingest.otlp_convert.SpanConverter), which tests/server/ingest compares it with:
 *
 *   convert(body, max_attributes, max_value_length, on_resource, on_scope, on_attr, on_span)
 *
 *   on_resource(raw Resource) -> (service, resource_json) | (None, reason, message)
 *   on_scope(raw InstrumentationScope) -> scope_json
 *   on_attr(raw KeyValue) -> (key, '"key":value') | (None, reason, message)
 *   on_span(raw Span, service, resource_json, scope_json) -> 17-item row | (reason, message)
 *
 * It returns (17 column lists in SPAN_COLUMNS order, [(reason, message) of refused spans]), or
 * None when the body is not laid out in a way this file reads with certainty (a malformed or
 * truncated field, a wire type that does not match the field, a singular field given twice,
 * text that is not UTF-8): the caller then takes the pure-Python path, which decodes the body
 * with protobuf and answers as it does. Exceptions raised by the callbacks propagate.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define NCOLS 17
#define MAX_NS 0x7fffffffffffffffULL

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} Cur;

typedef struct {
    const uint8_t *p;
    Py_ssize_t n;
} Slice;

typedef struct {
    char *b;
    Py_ssize_t len;
    Py_ssize_t cap;
} Buf;

/* 1: done, 0: not this file's case (take the Python path), -1: a Python exception is set */
enum { DECLINE = 0, DONE = 1, FAIL = -1 };

static PyObject *KINDS[6];
static PyObject *STATUS[3];
static PyObject *EMPTY_ATTRS;

static int rd_varint(Cur *c, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && c->p < c->end; shift += 7) {
        uint8_t b = *c->p++;
        if (shift == 63 && b > 1)
            return 0;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* the next field's number and wire type; 0 at the end or on a malformed tag */
static int rd_tag(Cur *c, uint32_t *field, uint32_t *wt) {
    uint64_t tag;
    if (c->p >= c->end || !rd_varint(c, &tag) || tag > 0xffffffffULL || (tag >> 3) == 0)
        return 0;
    *field = (uint32_t)(tag >> 3);
    *wt = (uint32_t)(tag & 7);
    return 1;
}

static int rd_bytes(Cur *c, Slice *s) {
    uint64_t n;
    if (!rd_varint(c, &n) || n > (uint64_t)(c->end - c->p))
        return 0;
    s->p = c->p;
    s->n = (Py_ssize_t)n;
    c->p += n;
    return 1;
}

static int rd_fixed64(Cur *c, uint64_t *out) {
    if (c->end - c->p < 8)
        return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | c->p[i];
    c->p += 8;
    *out = v;
    return 1;
}

/* skip a field of an unknown number; groups (wire types 3 and 4) are not read here */
static int skip(Cur *c, uint32_t wt) {
    uint64_t v;
    Slice s;
    switch (wt) {
    case 0:
        return rd_varint(c, &v);
    case 1:
        if (c->end - c->p < 8)
            return 0;
        c->p += 8;
        return 1;
    case 2:
        return rd_bytes(c, &s);
    case 5:
        if (c->end - c->p < 4)
            return 0;
        c->p += 4;
        return 1;
    default:
        return 0;
    }
}

/* the number of characters of strict UTF-8 text (no surrogates, no overlong forms), -1 if not */
static Py_ssize_t utf8_chars(const uint8_t *s, Py_ssize_t n) {
    Py_ssize_t i = 0, chars = 0;
    while (i < n) {
        uint8_t c = s[i];
        chars++;
        if (c < 0x80) {
            i++;
            continue;
        }
        uint8_t lo = 0x80, hi = 0xbf;
        int more;
        if (c >= 0xc2 && c <= 0xdf)
            more = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else
            return -1;
        if (n - i - 1 < more)
            return -1;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return -1;
        for (int k = 2; k <= more; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return -1;
        i += 1 + more;
    }
    return chars;
}

static int buf_reserve(Buf *b, Py_ssize_t more) {
    if (b->len + more <= b->cap)
        return 1;
    Py_ssize_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more)
        cap *= 2;
    char *nb = PyMem_Realloc(b->b, (size_t)cap);
    if (!nb) {
        PyErr_NoMemory();
        return 0;
    }
    b->b = nb;
    b->cap = cap;
    return 1;
}

static int buf_put(Buf *b, const void *p, Py_ssize_t n) {
    if (!buf_reserve(b, n))
        return 0;
    memcpy(b->b + b->len, p, (size_t)n);
    b->len += n;
    return 1;
}

/* JSON string of UTF-8 text, escaped as json.encoder.encode_basestring (ensure_ascii=False) */
static int buf_quote(Buf *b, const uint8_t *s, Py_ssize_t n) {
    static const char hex[] = "0123456789abcdef";
    if (!buf_reserve(b, 6 * n + 2))
        return 0;
    char *o = b->b + b->len;
    *o++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o++ = '"';
    b->len = o - b->b;
    return 1;
}

static PyObject *hex_str(Slice s) {
    static const char hex[] = "0123456789abcdef";
    PyObject *out = PyUnicode_New(2 * s.n, 127);
    if (!out)
        return NULL;
    Py_UCS1 *o = PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t i = 0; i < s.n; i++) {
        o[2 * i] = (Py_UCS1)hex[s.p[i] >> 4];
        o[2 * i + 1] = (Py_UCS1)hex[s.p[i] & 15];
    }
    return out;
}

/* A KeyValue laid out as exporters write one (key, then an AnyValue holding only a string, an
 * int or a bool) appended to ``b`` as '"key":value'; 0 for any other layout or a string value
 * over ``max_len`` characters (Python then decodes it and refuses what it refuses). */
static int fast_attr(Slice kv, Py_ssize_t max_len, Buf *b, Slice *key) {
    Cur c = {kv.p, kv.p + kv.n};
    uint32_t f = 0, wt = 0;
    Slice k, v, sv;
    uint64_t num;
    if (!rd_tag(&c, &f, &wt) || f != 1 || wt != 2 || !rd_bytes(&c, &k))
        return 0;
    if (!rd_tag(&c, &f, &wt) || f != 2 || wt != 2 || !rd_bytes(&c, &v) || c.p != c.end)
        return 0;
    if (utf8_chars(k.p, k.n) < 0)
        return 0;
    Cur a = {v.p, v.p + v.n};
    if (!rd_tag(&a, &f, &wt))
        return 0;
    if (f == 1 && wt == 2) {
        if (!rd_bytes(&a, &sv) || a.p != a.end)
            return 0;
        Py_ssize_t chars = utf8_chars(sv.p, sv.n);
        if (chars < 0 || chars > max_len)
            return 0;
        if (!buf_quote(b, k.p, k.n) || !buf_put(b, ":", 1) || !buf_quote(b, sv.p, sv.n))
            return -1;
    } else if ((f == 2 || f == 3) && wt == 0) {
        if (!rd_varint(&a, &num) || a.p != a.end)
            return 0;
        char text[24];
        int len;
        if (f == 2) {
            if (num > 1)
                return 0;
            len = num ? 4 : 5;
            memcpy(text, num ? "true" : "false", (size_t)len);
        } else
            len = snprintf(text, sizeof text, "%lld", (long long)(int64_t)num);
        if (!buf_quote(b, k.p, k.n) || !buf_put(b, ":", 1) || !buf_put(b, text, len))
            return -1;
    } else
        return 0;
    *key = k;
    return 1;
}

typedef struct {
    Py_ssize_t max_attrs, max_len;
    PyObject *on_resource, *on_scope, *on_attr, *on_span;
    PyObject *cols[NCOLS];
    PyObject *rejected;
    Buf buf;
    Slice *keys;      /* keys of one span's attributes, for the repeated-key test */
    Py_ssize_t nkeys_cap;
    PyObject **held;  /* callback entries of one span, alive while their bytes are used */
} Ctx;

typedef struct {
    Slice tid, sid, parent, name, status_message;
    int has_tid, has_sid, has_parent, has_name, has_kind, has_start, has_end, has_status;
    int has_events_or_links;
    uint64_t kind, start, end, code;
    Slice attrs_first;   /* where the attributes are: re-read from the span in a second pass */
    Py_ssize_t nattrs;
} Span;

static int parse_status(Slice s, Span *sp) {
    Cur c = {s.p, s.p + s.n};
    uint32_t f = 0, wt = 0;
    int has_msg = 0, has_code = 0;
    while (c.p < c.end) {
        if (!rd_tag(&c, &f, &wt))
            return 0;
        if (f == 2) {
            if (wt != 2 || has_msg || !rd_bytes(&c, &sp->status_message))
                return 0;
            if (utf8_chars(sp->status_message.p, sp->status_message.n) < 0)
                return 0;
            has_msg = 1;
        } else if (f == 3) {
            if (wt != 0 || has_code || !rd_varint(&c, &sp->code))
                return 0;
            has_code = 1;
        } else if (!skip(&c, wt))
            return 0;
    }
    return 1;
}

#define ONCE(flag) \
    if (flag)      \
        return 0;  \
    flag = 1

static int parse_span(Slice s, Span *sp) {
    memset(sp, 0, sizeof *sp);
    Cur c = {s.p, s.p + s.n};
    uint32_t f = 0, wt = 0;
    uint64_t v;
    Slice tmp;
    int seen_state = 0, seen_flags = 0, seen_d10 = 0, seen_d12 = 0, seen_d14 = 0;
    while (c.p < c.end) {
        if (!rd_tag(&c, &f, &wt))
            return 0;
        switch (f) {
        case 1: if (wt != 2) return 0; ONCE(sp->has_tid); if (!rd_bytes(&c, &sp->tid)) return 0; break;
        case 2: if (wt != 2) return 0; ONCE(sp->has_sid); if (!rd_bytes(&c, &sp->sid)) return 0; break;
        case 3:
            if (wt != 2) return 0;
            ONCE(seen_state);
            if (!rd_bytes(&c, &tmp) || utf8_chars(tmp.p, tmp.n) < 0) return 0;
            break;
        case 4: if (wt != 2) return 0; ONCE(sp->has_parent); if (!rd_bytes(&c, &sp->parent)) return 0; break;
        case 5:
            if (wt != 2) return 0;
            ONCE(sp->has_name);
            if (!rd_bytes(&c, &sp->name) || utf8_chars(sp->name.p, sp->name.n) < 0) return 0;
            break;
        case 6: if (wt != 0) return 0; ONCE(sp->has_kind); if (!rd_varint(&c, &sp->kind)) return 0; break;
        case 7: if (wt != 1) return 0; ONCE(sp->has_start); if (!rd_fixed64(&c, &sp->start)) return 0; break;
        case 8: if (wt != 1) return 0; ONCE(sp->has_end); if (!rd_fixed64(&c, &sp->end)) return 0; break;
        case 9:
            if (wt != 2 || !rd_bytes(&c, &tmp)) return 0;
            sp->nattrs++;
            break;
        case 10: if (wt != 0) return 0; ONCE(seen_d10); if (!rd_varint(&c, &v)) return 0; break;
        case 11: case 13:
            if (wt != 2 || !rd_bytes(&c, &tmp)) return 0;
            sp->has_events_or_links = 1;
            break;
        case 12: if (wt != 0) return 0; ONCE(seen_d12); if (!rd_varint(&c, &v)) return 0; break;
        case 14: if (wt != 0) return 0; ONCE(seen_d14); if (!rd_varint(&c, &v)) return 0; break;
        case 15:
            if (wt != 2) return 0;
            ONCE(sp->has_status);
            if (!rd_bytes(&c, &tmp) || !parse_status(tmp, sp)) return 0;
            break;
        case 16:
            if (wt != 5) return 0;
            ONCE(seen_flags);
            if (!skip(&c, 5)) return 0;
            break;
        default:
            if (!skip(&c, wt)) return 0;
        }
    }
    return 1;
}

static PyObject *slice_bytes(Slice s) { return PyBytes_FromStringAndSize((const char *)s.p, s.n); }

static int append_row(Ctx *ctx, PyObject *row) {
    if (!PyTuple_Check(row) || (PyTuple_GET_SIZE(row) != NCOLS && PyTuple_GET_SIZE(row) != 2)) {
        PyErr_SetString(PyExc_TypeError, "on_span must return a row or (reason, message)");
        return 0;
    }
    if (PyTuple_GET_SIZE(row) == 2)
        return PyList_Append(ctx->rejected, row) == 0;
    for (int i = 0; i < NCOLS; i++)
        if (PyList_Append(ctx->cols[i], PyTuple_GET_ITEM(row, i)) < 0)
            return 0;
    return 1;
}

/* the span's attributes as JSON text in ctx->buf; DECLINE when Python must build them */
static int span_attrs(Ctx *ctx, Slice span, Py_ssize_t nattrs) {
    ctx->buf.len = 0;
    if (!buf_put(&ctx->buf, "{", 1))
        return FAIL;
    if (nattrs > ctx->nkeys_cap) {
        Slice *nk = PyMem_Realloc(ctx->keys, sizeof(Slice) * (size_t)nattrs);
        PyObject **nh = PyMem_Realloc(ctx->held, sizeof(PyObject *) * (size_t)nattrs);
        if (nk) ctx->keys = nk;
        if (nh) ctx->held = nh;
        if (!nk || !nh) {
            PyErr_NoMemory();
            return FAIL;
        }
        ctx->nkeys_cap = nattrs;
    }
    Py_ssize_t n = 0, nheld = 0;
    int status = DONE;
    Cur c = {span.p, span.p + span.n};
    uint32_t f = 0, wt = 0;
    Slice kv = {NULL, 0};
    while (c.p < c.end && status == DONE) {
        rd_tag(&c, &f, &wt); /* read once already by parse_span */
        if (f != 9) {
            skip(&c, wt);
            continue;
        }
        rd_bytes(&c, &kv);
        if (n && !buf_put(&ctx->buf, ",", 1)) {
            status = FAIL;
            break;
        }
        int got = fast_attr(kv, ctx->max_len, &ctx->buf, &ctx->keys[n]);
        if (got < 0) {
            status = FAIL;
            break;
        }
        if (!got) {
            PyObject *raw = slice_bytes(kv);
            PyObject *entry = raw ? PyObject_CallOneArg(ctx->on_attr, raw) : NULL;
            Py_XDECREF(raw);
            if (!entry) {
                status = FAIL;
                break;
            }
            ctx->held[nheld++] = entry;
            if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2) {
                status = DECLINE; /* a refused value: Python raises its reason */
                break;
            }
            Py_ssize_t klen, tlen;
            const char *k = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(entry, 0), &klen);
            const char *t = k ? PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(entry, 1), &tlen) : NULL;
            if (!t || !buf_put(&ctx->buf, t, tlen)) {
                status = FAIL;
                break;
            }
            ctx->keys[n].p = (const uint8_t *)k;
            ctx->keys[n].n = klen;
        }
        for (Py_ssize_t i = 0; i < n && status == DONE; i++)
            if (ctx->keys[i].n == ctx->keys[n].n &&
                memcmp(ctx->keys[i].p, ctx->keys[n].p, (size_t)ctx->keys[n].n) == 0)
                status = DECLINE; /* a repeated key: the last value wins, as Python does it */
        n++;
    }
    if (status == DONE && !buf_put(&ctx->buf, "}", 1))
        status = FAIL;
    for (Py_ssize_t i = 0; i < nheld; i++)
        Py_DECREF(ctx->held[i]);
    return status;
}

static int emit_span(Ctx *ctx, Slice raw, PyObject *service, PyObject *rj, PyObject *sj) {
    Span sp;
    if (!parse_span(raw, &sp))
        return DECLINE;
    int slow = sp.tid.n != 16 || sp.sid.n != 8 || sp.has_events_or_links || sp.start > MAX_NS ||
               sp.end > MAX_NS || sp.nattrs > ctx->max_attrs;
    PyObject *attrs = NULL;
    if (!slow && sp.nattrs == 0) {
        attrs = EMPTY_ATTRS;
        Py_INCREF(attrs);
    } else if (!slow) {
        int got = span_attrs(ctx, raw, sp.nattrs);
        if (got == FAIL)
            return FAIL;
        if (got == DECLINE)
            slow = 1;
        else if (!(attrs = PyUnicode_DecodeUTF8(ctx->buf.b, ctx->buf.len, NULL)))
            return FAIL;
    }
    if (slow) {
        PyObject *b = slice_bytes(raw);
        PyObject *row = b ? PyObject_CallFunctionObjArgs(ctx->on_span, b, service, rj, sj, NULL) : NULL;
        Py_XDECREF(b);
        if (!row)
            return FAIL;
        int ok = append_row(ctx, row);
        Py_DECREF(row);
        return ok ? DONE : FAIL;
    }
    int32_t kind = (int32_t)(uint32_t)sp.kind, code = (int32_t)(uint32_t)sp.code;
    uint64_t tid8 = 0;
    for (int i = 0; i < 8; i++)
        tid8 = (tid8 << 8) | sp.tid.p[i];
    PyObject *row[NCOLS] = {NULL};
    row[0] = hex_str(sp.tid);
    row[1] = PyLong_FromLongLong((long long)(int64_t)tid8);
    row[2] = hex_str(sp.sid);
    row[3] = hex_str(sp.parent);
    row[4] = PyUnicode_DecodeUTF8((const char *)sp.name.p, sp.name.n, NULL);
    row[5] = KINDS[(kind >= 0 && kind < 6) ? kind : 0];
    Py_INCREF(row[5]);
    row[6] = service;
    Py_INCREF(service);
    row[7] = PyLong_FromLongLong((long long)sp.start);
    row[8] = PyLong_FromLongLong((long long)sp.end);
    row[9] = PyLong_FromLongLong(sp.end > sp.start ? (long long)(sp.end - sp.start) : 0);
    row[10] = STATUS[(code >= 0 && code < 3) ? code : 0];
    Py_INCREF(row[10]);
    row[11] = PyUnicode_DecodeUTF8((const char *)sp.status_message.p, sp.status_message.n, NULL);
    row[12] = attrs;
    row[13] = Py_None;
    Py_INCREF(Py_None);
    row[14] = Py_None;
    Py_INCREF(Py_None);
    row[15] = rj;
    Py_INCREF(rj);
    row[16] = sj;
    Py_INCREF(sj);
    int status = DONE;
    for (int i = 0; i < NCOLS; i++)
        if (!row[i] || (status == DONE && PyList_Append(ctx->cols[i], row[i]) < 0))
            status = FAIL;
    for (int i = 0; i < NCOLS; i++)
        Py_XDECREF(row[i]);
    return status;
}

/* ResourceSpans and ScopeSpans share a layout: 1 their resource or scope (kept encoded),
 * 2 the repeated children, 3 a schema URL. Every field is checked; ``head`` is field 1 (empty
 * when absent). 0 when the message is not laid out so. */
static int check_container(Slice msg, Slice *head) {
    Cur c = {msg.p, msg.p + msg.n};
    uint32_t f = 0, wt = 0;
    Slice tmp = {NULL, 0};
    int has_head = 0, has_url = 0;
    head->p = (const uint8_t *)"";
    head->n = 0;
    while (c.p < c.end) {
        if (!rd_tag(&c, &f, &wt))
            return 0;
        if (f == 1) {
            if (wt != 2 || has_head || !rd_bytes(&c, head))
                return 0;
            has_head = 1;
        } else if (f == 2) {
            if (wt != 2 || !rd_bytes(&c, &tmp))
                return 0;
        } else if (f == 3) {
            if (wt != 2 || has_url || !rd_bytes(&c, &tmp) || utf8_chars(tmp.p, tmp.n) < 0)
                return 0;
            has_url = 1;
        } else if (!skip(&c, wt))
            return 0;
    }
    return 1;
}

/* the next child (field 2) of a message that check_container accepted; 0 at its end */
static int next_child(Cur *c, Slice *child) {
    uint32_t f = 0, wt = 0;
    while (c->p < c->end) {
        rd_tag(c, &f, &wt);
        if (f == 2 && wt == 2)
            return rd_bytes(c, child);
        skip(c, wt);
    }
    return 0;
}

/* one ScopeSpans: refused (every span counted with ``refusal``) or converted */
static int scope_spans(Ctx *ctx, Slice ss, PyObject *service, PyObject *rj, PyObject *refusal) {
    Slice scope, span;
    if (!check_container(ss, &scope))
        return DECLINE;
    PyObject *sj = NULL;
    if (!refusal) {
        PyObject *raw = slice_bytes(scope);
        sj = raw ? PyObject_CallOneArg(ctx->on_scope, raw) : NULL;
        Py_XDECREF(raw);
        if (!sj)
            return FAIL;
    }
    int status = DONE;
    Cur c = {ss.p, ss.p + ss.n};
    while (status == DONE && next_child(&c, &span)) {
        if (refusal) {
            Span sp;
            if (!parse_span(span, &sp))
                status = DECLINE;
            else if (PyList_Append(ctx->rejected, refusal) < 0)
                status = FAIL;
        } else
            status = emit_span(ctx, span, service, rj, sj);
    }
    Py_XDECREF(sj);
    return status;
}

static int resource_spans(Ctx *ctx, Slice rs) {
    Slice resource, ss;
    if (!check_container(rs, &resource))
        return DECLINE;
    PyObject *raw = slice_bytes(resource);
    PyObject *got = raw ? PyObject_CallOneArg(ctx->on_resource, raw) : NULL;
    Py_XDECREF(raw);
    if (!got)
        return FAIL;
    PyObject *service = NULL, *rj = NULL, *refusal = NULL;
    int status = DONE;
    if (PyTuple_Check(got) && PyTuple_GET_SIZE(got) == 2) {
        service = PyTuple_GET_ITEM(got, 0);
        rj = PyTuple_GET_ITEM(got, 1);
    } else if (PyTuple_Check(got) && PyTuple_GET_SIZE(got) == 3) {
        refusal = PyTuple_GetSlice(got, 1, 3);
        if (!refusal)
            status = FAIL;
    } else {
        PyErr_SetString(PyExc_TypeError, "on_resource must return a 2- or 3-tuple");
        status = FAIL;
    }
    Cur c = {rs.p, rs.p + rs.n};
    while (status == DONE && next_child(&c, &ss))
        status = scope_spans(ctx, ss, service, rj, refusal);
    Py_XDECREF(refusal);
    Py_DECREF(got);
    return status;
}

static PyObject *convert(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer body;
    Ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    if (!PyArg_ParseTuple(args, "y*nnOOOO", &body, &ctx.max_attrs, &ctx.max_len, &ctx.on_resource,
                          &ctx.on_scope, &ctx.on_attr, &ctx.on_span))
        return NULL;
    int status = DONE;
    for (int i = 0; i < NCOLS && status == DONE; i++)
        if (!(ctx.cols[i] = PyList_New(0)))
            status = FAIL;
    if (status == DONE && !(ctx.rejected = PyList_New(0)))
        status = FAIL;
    Cur c = {body.buf, (const uint8_t *)body.buf + body.len};
    uint32_t f = 0, wt = 0;
    Slice rs;
    while (status == DONE && c.p < c.end) {
        if (!rd_tag(&c, &f, &wt))
            status = DECLINE;
        else if (f == 1) {
            if (wt != 2 || !rd_bytes(&c, &rs))
                status = DECLINE;
            else
                status = resource_spans(&ctx, rs);
        } else if (!skip(&c, wt))
            status = DECLINE;
    }
    PyObject *out = NULL;
    if (status == DONE) {
        PyObject *cols = PyList_New(NCOLS);
        if (cols) {
            for (int i = 0; i < NCOLS; i++) {
                PyList_SET_ITEM(cols, i, ctx.cols[i]);
                ctx.cols[i] = NULL;
            }
            out = PyTuple_Pack(2, cols, ctx.rejected);
            Py_DECREF(cols);
        }
    } else if (status == DECLINE) {
        out = Py_None;
        Py_INCREF(out);
    }
    for (int i = 0; i < NCOLS; i++)
        Py_XDECREF(ctx.cols[i]);
    Py_XDECREF(ctx.rejected);
    PyMem_Free(ctx.buf.b);
    PyMem_Free(ctx.keys);
    PyMem_Free(ctx.held);
    PyBuffer_Release(&body);
    return out;
}

static PyMethodDef methods[] = {
    {"convert", convert, METH_VARARGS,
     "convert(body, max_attributes, max_value_length, on_resource, on_scope, on_attr, on_span)"
     " -> (columns, refused) | None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_spans_c", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__spans_c(void) {
    static const char *kinds[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
    static const char *status[] = {"unset", "ok", "error"};
    for (int i = 0; i < 6; i++)
        if (!(KINDS[i] = PyUnicode_InternFromString(kinds[i])))
            return NULL;
    for (int i = 0; i < 3; i++)
        if (!(STATUS[i] = PyUnicode_InternFromString(status[i])))
            return NULL;
    if (!(EMPTY_ATTRS = PyUnicode_InternFromString("{}")))
        return NULL;
    return PyModule_Create(&module);
}
