/* copilot/routes.c: the copilot domain's route table and nothing else. */
#include "copilot/copilot.h"
#include "copilot/internal.h"

static const char session_schema[] =
	"{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"topic\":{\"type\":\"string\"},"
	"\"portfolio\":{\"type\":[\"object\",\"null\"]},\"created_at\":{\"type\":\"string\"},\"updated_at\":{\"type\":\"string\"}}}";
static const char create_schema[] =
	"{\"type\":\"object\",\"properties\":{\"topic\":{\"type\":\"string\",\"maxLength\":200}}}";
static const char list_schema[] =
	"{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\"},\"next_cursor\":{\"type\":[\"string\",\"null\"]}}}";
static const char ask_schema[] =
	"{\"type\":\"object\",\"required\":[\"input\"],\"properties\":{\"input\":{\"type\":\"string\",\"maxLength\":8000}}}";
static const char answer_schema[] =
	"{\"type\":\"object\",\"properties\":{\"detail_id\":{\"type\":\"string\"},\"output\":{\"type\":\"string\"},"
	"\"source\":{\"enum\":[\"rag\",\"llm\",\"demo\"]},\"portfolio\":{\"type\":\"object\",\"properties\":{"
	"\"assets\":{\"type\":\"array\"},\"weights\":{\"type\":\"array\"},\"risk_profile\":{\"type\":\"string\"},"
	"\"source\":{\"type\":\"string\"}}}}}";
static const char detail_schema[] =
	"{\"type\":\"object\",\"properties\":{\"session\":{\"type\":\"object\"},\"details\":{\"type\":\"array\"}}}";

static const struct route routes[] = {
	{"POST", "/api/v1/copilot/sessions", sessions_create, ACCESS_USER, 4096, "Start a copilot session",
	 create_schema, session_schema, 201, NULL},
	{"GET", "/api/v1/copilot/sessions", sessions_list, ACCESS_USER, 0, "My copilot sessions, newest first", NULL,
	 list_schema, 200, NULL},
	{"GET", "/api/v1/copilot/sessions/{id}", sessions_get, ACCESS_USER, 0, "A session and its exchanges", NULL,
	 detail_schema, 200, NULL},
	{"POST", "/api/v1/copilot/sessions/{id}", sessions_ask, ACCESS_USER, 64 * 1024,
	 "Ask: the input is stored, then answered by the RAG service (or the LLM); the first answer of a session "
	 "carries an allocation for the user's risk profile",
	 ask_schema, answer_schema, 200, NULL},
	{"POST", "/api/v1/copilot/sessions/{id}/details/{detail_id}/retry", details_retry, ACCESS_USER, 0,
	 "Ask again for an input whose call failed", NULL, answer_schema, 200, NULL},
};

const struct route_table copilot_routes = ROUTE_TABLE("copilot", routes,
						   "The financial-advice copilot: sessions answered by the RAG service or the model");

/* The FastAPI copilot's paths, answered by the same handlers as /api/v1/copilot/... (it had
 * no list of sessions, so neither do they). */
static const struct route compat[] = {
	{"POST", "/copilot/sessions", sessions_create, ACCESS_USER, 4096,
	 "Compatibility (FastAPI copilot): as POST /api/v1/copilot/sessions", create_schema, session_schema, 201,
	 NULL},
	{"GET", "/copilot/sessions/{id}", sessions_get, ACCESS_USER, 0,
	 "Compatibility (FastAPI copilot): as GET /api/v1/copilot/sessions/{id}", NULL, detail_schema, 200, NULL},
	{"POST", "/copilot/sessions/{id}", sessions_ask, ACCESS_USER, 64 * 1024,
	 "Compatibility (FastAPI copilot): as POST /api/v1/copilot/sessions/{id}", ask_schema, answer_schema, 200,
	 NULL},
};

const struct route_table copilot_compat_routes =
	ROUTE_TABLE("compat", compat, "Drop-in routes for the clients of the five original backends");
