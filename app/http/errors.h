/* http/errors.h: the one table of API errors (like curl's CURLcode and lwan's status table):
 * each code's enum, HTTP status, wire name and meaning. http_error takes the enum; the OpenAPI
 * document, the docs page and /metrics read this table. A code not listed here cannot be sent. */
#ifndef HTTP_ERRORS_H
#define HTTP_ERRORS_H

/* X(enum, status, code, meaning) */
#define HTTP_ERRORS(X)                                                                             \
	X(E_MALFORMED_REQUEST, 400, "malformed_request",                                           \
	  "the request is not well-formed HTTP/1.1; the connection is closed")                     \
	X(E_INVALID_JSON, 400, "invalid_json", "the body is not valid JSON")                       \
	X(E_INVALID_INPUT, 400, "invalid_input", "a field is missing, malformed or out of range")  \
	X(E_UNAUTHORIZED, 401, "unauthorized", "no valid access token, or wrong credentials")      \
	X(E_FORBIDDEN, 403, "forbidden", "signed in, but not allowed to do this")                  \
	X(E_REAUTH_REQUIRED, 403, "reauth_required",                                               \
	  "confirm with the password or sign in again first")                                      \
	X(E_NOT_FOUND, 404, "not_found", "no such object (or it is not yours)")                    \
	X(E_METHOD_NOT_ALLOWED, 405, "method_not_allowed", "the path exists, the method does not") \
	X(E_CONFLICT, 409, "conflict", "it would duplicate or contradict what exists")             \
	X(E_MISMATCHED_DEVICES, 409, "mismatched_devices",                                         \
	  "one envelope per device of the recipient: missing_devices and extra_devices list them") \
	X(E_STALE_DEVICES, 410, "stale_devices",                                                   \
	  "a registration id is not the device's: stale_devices lists them")                       \
	X(E_PAYLOAD_TOO_LARGE, 413, "payload_too_large", "the body or upload is over its limit")   \
	X(E_RANGE_NOT_SATISFIABLE, 416, "range_not_satisfiable",                                   \
	  "the Range lies outside the file")                                                       \
	X(E_UPGRADE_REQUIRED, 426, "upgrade_required",                                             \
	  "this resource speaks WebSocket: send a valid upgrade (version 13)")                     \
	X(E_RATE_LIMITED, 429, "rate_limited", "too many requests; wait for Retry-After seconds")  \
	X(E_QUOTA_EXCEEDED, 429, "quota_exceeded", "the plan's quota for this is spent")           \
	X(E_HEADERS_TOO_LARGE, 431, "headers_too_large",                                           \
	  "the request head is over 16 KiB or 64 fields; the connection is closed")                \
	X(E_CANCELLED, 499, "cancelled", "the client went away first (logged, never sent)")        \
	X(E_INTERNAL, 500, "internal", "the server failed; the request id is in its log")          \
	X(E_UPSTREAM_ERROR, 502, "upstream_error", "an outside service answered with an error")    \
	X(E_UPSTREAM_MALFORMED, 502, "upstream_malformed",                                         \
	  "an outside service answered with nonsense")                                             \
	X(E_UPSTREAM_AUTH, 502, "upstream_auth", "an outside service refused our credentials")     \
	X(E_UPSTREAM_CUT, 502, "upstream_cut", "an outside service ended its answer early")        \
	X(E_UNAVAILABLE, 503, "unavailable", "the server is busy or shutting down; try again")     \
	X(E_UPSTREAM_UNAVAILABLE, 503, "upstream_unavailable",                                     \
	  "an outside service cannot be reached")                                                  \
	X(E_UPSTREAM_RATE_LIMITED, 503, "upstream_rate_limited",                                   \
	  "an outside service is rate limiting us")                                                \
	X(E_LLM_UNAVAILABLE, 503, "llm_unavailable", "the language model cannot answer now")       \
	X(E_UPSTREAM_TIMEOUT, 504, "upstream_timeout",                                             \
	  "an outside service did not answer in time")                                             \
	X(E_HTTP_VERSION, 505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are spoken")\
	X(E_INSUFFICIENT_STORAGE, 507, "insufficient_storage", "the server's disk is full")

enum http_err {
#define HTTP_ERR_ENUM(e, status, code, meaning) e,
	HTTP_ERRORS(HTTP_ERR_ENUM)
#undef HTTP_ERR_ENUM
	    HTTP_ERR_COUNT
};

struct http_err_info {
	int status;
	const char *code;
	const char *meaning;
};

/* The table row of e (an out-of-range e reads as E_INTERNAL). */
const struct http_err_info *http_err_info(enum http_err e);

#endif
