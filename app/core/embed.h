/* core/embed.h: files compiled into the binary by embedgen (schema/ and web/).
 * The tables are sorted by name and immutable. */
#ifndef CORE_EMBED_H
#define CORE_EMBED_H

struct embed_file {
	const char *name;          /* relative to its folder, e.g. "index.html" */
	const unsigned char *data; /* NUL-terminated for convenience; size is the truth */
	long size;
	const char *etag;          /* strong ETag, quoted */
};

extern const struct embed_file embed_schema[];
extern const unsigned long embed_schema_count;
extern const struct embed_file embed_web[];
extern const unsigned long embed_web_count;

#endif
