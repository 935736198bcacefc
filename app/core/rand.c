/* core/rand.c: one process-wide CTR-DRBG behind a mutex. Must never hand out bytes from an
 * unseeded generator. */
#include "core/rand.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static int seeded;

int rand_bytes(void *out, size_t n)
{
	static const unsigned char personal[] = "app rand";
	int rc = 0;
	pthread_mutex_lock(&lock);
	if (!seeded) {
		mbedtls_entropy_init(&entropy);
		mbedtls_ctr_drbg_init(&drbg);
		if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, personal,
		                          sizeof personal - 1) != 0) {
			mbedtls_ctr_drbg_free(&drbg);
			mbedtls_entropy_free(&entropy);
			rc = ERR_CRYPTO;
			goto out;
		}
		seeded = 1;
	}
	unsigned char *p = out;
	while (n > 0) {
		size_t chunk = n > MBEDTLS_CTR_DRBG_MAX_REQUEST ? MBEDTLS_CTR_DRBG_MAX_REQUEST : n;
		if (mbedtls_ctr_drbg_random(&drbg, p, chunk) != 0) {
			rc = ERR_CRYPTO;
			goto out;
		}
		p += chunk;
		n -= chunk;
	}
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

void rand_shutdown(void)
{
	pthread_mutex_lock(&lock);
	if (seeded) {
		mbedtls_ctr_drbg_free(&drbg);
		mbedtls_entropy_free(&entropy);
		seeded = 0;
	}
	pthread_mutex_unlock(&lock);
}
