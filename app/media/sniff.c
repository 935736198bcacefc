/* media/sniff.c: the content type of an upload, from its bytes. Must never trust what the
 * client claims, and must call anything it cannot place application/octet-stream. */
#include <string.h>

#include "core/json.h"
#include "media/internal.h"

static bool starts(const unsigned char *p, size_t n, const char *magic, size_t m)
{
	return n >= m && memcmp(p, magic, m) == 0;
}

/* Case-insensitive prefix after leading whitespace: for markup. */
static bool markup(const unsigned char *p, size_t n, const char *tag)
{
	size_t i = 0, m = strlen(tag);
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	if (n - i < m)
		return false;
	for (size_t k = 0; k < m; k++) {
		unsigned char c = p[i + k];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (c != (unsigned char)tag[k])
			return false;
	}
	return true;
}

static bool contains(const unsigned char *p, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(p + i, needle, m) == 0)
			return true;
	return false;
}

const char *media_sniff(const unsigned char *p, size_t n)
{
	if (n > 512)
		n = 512;
	if (starts(p, n, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (starts(p, n, "\xff\xd8\xff", 3))
		return "image/jpeg";
	if (starts(p, n, "GIF87a", 6) || starts(p, n, "GIF89a", 6))
		return "image/gif";
	if (n >= 12 && starts(p, n, "RIFF", 4) && memcmp(p + 8, "WEBP", 4) == 0)
		return "image/webp";
	if (n >= 12 && starts(p, n, "RIFF", 4) && memcmp(p + 8, "WAVE", 4) == 0)
		return "audio/wav";
	if (starts(p, n, "%PDF-", 5))
		return "application/pdf";
	if (starts(p, n, "OggS", 4))
		return "audio/ogg";
	if (starts(p, n, "ID3", 3) || (n >= 2 && p[0] == 0xff && (p[1] & 0xe0) == 0xe0))
		return "audio/mpeg";
	if (starts(p, n, "\x1a\x45\xdf\xa3", 4))
		return "video/webm";
	if (n >= 12 && memcmp(p + 4, "ftyp", 4) == 0)
		return memcmp(p + 8, "M4A ", 4) == 0 ? "audio/mp4" : "video/mp4";
	if (markup(p, n, "<!doctype html") || markup(p, n, "<html") || markup(p, n, "<script") ||
	    markup(p, n, "<head") || markup(p, n, "<body") || markup(p, n, "<iframe"))
		return "text/html";
	if (markup(p, n, "<svg") || (markup(p, n, "<?xml") && contains(p, n, "<svg")))
		return "image/svg+xml";
	if (markup(p, n, "<?xml"))
		return "application/xml";
	/* text: UTF-8 without control characters (a cut multi-byte tail at 512 is fine) */
	size_t valid = n;
	while (valid > 0 && valid > n - 4 && utf8_check((const char *)p, valid) != 0)
		valid--;
	bool text = utf8_check((const char *)p, valid) == 0;
	for (size_t i = 0; i < n && text; i++)
		text = p[i] >= 0x20 || p[i] == '\t' || p[i] == '\n' || p[i] == '\r';
	return text ? "text/plain; charset=utf-8" : "application/octet-stream";
}

bool media_risky(const char *type)
{
	return strcmp(type, "text/html") == 0 || strcmp(type, "image/svg+xml") == 0 ||
	       strcmp(type, "application/xml") == 0 || strcmp(type, "application/octet-stream") == 0;
}
