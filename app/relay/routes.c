/* relay/routes.c: the relay's route table and nothing else. Literal paths come before {id}
 * patterns: the first match wins. */
#include "relay/handlers.h"
#include "relay/relay.h"

#define KEYS_BODY_MAX     (512 * 1024)  /* 100 Kyber keys of 1569 bytes in base64, and the rest */
#define MESSAGES_BODY_MAX (1024 * 1024) /* six envelopes of 96 KiB in base64 */

#define KEY_PROPS                                                                                  \
	"\"key_id\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":4294967295},"                  \
	"\"public_key\":{\"type\":\"string\",\"contentEncoding\":\"base64\"}"
#define SIGNED_KEY                                                                                 \
	"{\"type\":\"object\",\"required\":[\"key_id\",\"public_key\",\"signature\"],\"properties\":{" \
	KEY_PROPS ",\"signature\":{\"type\":\"string\",\"contentEncoding\":\"base64\"}}}"
#define ONE_TIME_KEY "{\"type\":\"object\",\"required\":[\"key_id\",\"public_key\"],\"properties\":{" KEY_PROPS "}}"
#define DEVICE                                                                                     \
	"{\"type\":\"object\",\"required\":[\"device_id\",\"registration_id\",\"created_at\"],"    \
	"\"properties\":{\"device_id\":{\"type\":\"integer\"},\"registration_id\":{\"type\":\"integer\"}," \
	"\"name\":{\"type\":[\"string\",\"null\"]},\"created_at\":{\"type\":\"string\"},"              \
	"\"last_seen_at\":{\"type\":[\"string\",\"null\"]}}}"

static const char device_add_schema[] =
	"{\"type\":\"object\",\"required\":[\"registration_id\"],\"properties\":{"
	"\"registration_id\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":16380},"
	"\"name\":{\"type\":\"string\",\"maxLength\":100}}}";
static const char device_schema[] = DEVICE;
static const char devices_schema[] =
	"{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\"],\"properties\":{\"items\":{\"type\":\"array\","
	"\"items\":" DEVICE "},\"next_cursor\":{\"type\":\"null\"}}}";
static const char keys_put_schema[] =
	"{\"type\":\"object\",\"required\":[\"device_id\"],\"description\":\"EC keys are 33 bytes (0x05 and 32), "
	"signatures 64, Kyber-1024 keys 1569 (0x08 and 1568); a list given replaces the device's keys of its "
	"kind, a kind not given is kept\",\"properties\":{\"device_id\":{\"type\":\"integer\"},"
	"\"identity_key\":{\"type\":\"string\",\"contentEncoding\":\"base64\"},\"signed_prekey\":" SIGNED_KEY ","
	"\"one_time_prekeys\":{\"type\":\"array\",\"maxItems\":100,\"items\":" ONE_TIME_KEY "},"
	"\"kyber_prekeys\":{\"type\":\"array\",\"maxItems\":100,\"items\":" SIGNED_KEY "},"
	"\"kyber_last_resort\":" SIGNED_KEY "}}";
static const char counts_schema[] =
	"{\"type\":\"object\",\"required\":[\"count\",\"kyber_count\"],\"properties\":{"
	"\"count\":{\"type\":\"integer\"},\"kyber_count\":{\"type\":\"integer\"}}}";
static const char bundle_schema[] =
	"{\"type\":\"object\",\"required\":[\"identity_key\",\"devices\"],\"properties\":{"
	"\"identity_key\":{\"type\":\"string\"},\"devices\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"required\":[\"device_id\",\"registration_id\",\"signed_prekey\",\"kyber_prekey\"],\"properties\":{"
	"\"device_id\":{\"type\":\"integer\"},\"registration_id\":{\"type\":\"integer\"},\"signed_prekey\":" SIGNED_KEY
	",\"prekey\":" ONE_TIME_KEY ",\"kyber_prekey\":" SIGNED_KEY "}}}}}";
static const char send_schema[] =
	"{\"type\":\"object\",\"required\":[\"messages\"],\"properties\":{\"client_id\":{\"type\":\"string\","
	"\"maxLength\":100},\"messages\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":6,\"items\":{\"type\":"
	"\"object\",\"required\":[\"device_id\",\"registration_id\",\"type\",\"content\"],\"properties\":{"
	"\"device_id\":{\"type\":\"integer\"},\"registration_id\":{\"type\":\"integer\"},"
	"\"type\":{\"enum\":[1,3,6,8]},\"content\":{\"type\":\"string\",\"contentEncoding\":\"base64\","
	"\"description\":\"at most 96 KiB decoded\"}}}}}}";
static const char sent_schema[] =
	"{\"type\":\"object\",\"required\":[\"message_id\"],\"properties\":{\"message_id\":{\"type\":\"string\"}}}";

static const struct route routes[] = {
	{"POST", "/api/v1/devices", devices_add, ACCESS_USER, 1024,
	 "Register a device (its libsignal registration id); the first is 1, at most 6", device_add_schema,
	 device_schema, 201, NULL},
	{"GET", "/api/v1/devices", devices_list, ACCESS_USER, 0, "My devices", NULL, devices_schema, 200, NULL},
	{"DELETE", "/api/v1/devices/{id}", devices_remove, ACCESS_USER, 0,
	 "Remove a device with its keys and the messages waiting for it", NULL, NULL, 204, NULL},
	{"PUT", "/api/v1/keys", keys_put, ACCESS_USER, KEYS_BODY_MAX,
	 "Upload a device's public keys (identity, signed prekey, one-time EC and Kyber prekeys, Kyber last resort)",
	 keys_put_schema, counts_schema, 200, NULL},
	{"GET", "/api/v1/keys/count", keys_count, ACCESS_USER, 0,
	 "One-time prekeys left for my device (?device_id=, default 1)", NULL, counts_schema, 200, NULL},
	{"GET", "/api/v1/keys/{user_id}", keys_bundle, ACCESS_USER, 0,
	 "A user's key bundle per device; takes one one-time EC and one Kyber prekey of each", NULL, bundle_schema,
	 200, NULL},
	{"GET", "/api/v1/keys/{user_id}/{device_id}", keys_bundle, ACCESS_USER, 0,
	 "One device's key bundle; takes one one-time EC and one Kyber prekey", NULL, bundle_schema, 200, NULL},
	{"PUT", "/api/v1/messages/{user_id}", messages_put, ACCESS_USER, MESSAGES_BODY_MAX,
	 "Send an end-to-end-encrypted message: one envelope per device of the recipient (from ?device_id=, "
	 "default 1)",
	 send_schema, sent_schema, 200, NULL},
};

const struct route_table relay_routes =
	ROUTE_TABLE("relay", routes, "Private messaging: devices, public key bundles and an offline queue of "
	                             "end-to-end-encrypted envelopes the server cannot read");
