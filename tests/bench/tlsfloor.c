/*
 * tlsfloor.c: where a cold HTTPS start's time goes, on OpenSSL alone (no
 * libcurl, no leasewrap): one process, one TLS connection, timed phase by
 * phase in the order libcurl takes them.  The bench's floor for the TLS
 * handshake.
 *
 *	tlsfloor PORT [CAFILE]
 *
 * Connects to 127.0.0.1:PORT with SNI "localhost", verifies the server's
 * certificate against CAFILE, or the system's CA folder looked up by hash
 * when CAFILE is empty or absent (what leasewrap does with no
 * VAULT_CACERT), and prints the milliseconds of each phase on one line:
 *
 *	init seed ctx ca connect handshake free
 *
 * init: OPENSSL_init_ssl with the configuration file (paid by plain HTTP
 * too, since libcurl's global init does it); seed: the random generator's
 * first use (RAND_status, as libcurl's ossl_seed); ctx: SSL_CTX_new;
 * ca: loading CAFILE (the folder is only read during the handshake);
 * connect: TCP; handshake: SSL_connect, certificate check included;
 * free: shutdown and freeing.  Exits 0 when the handshake verified.
 *
 * Built by tests/bench/bench.py with `cc ... -lssl -lcrypto`.
 */
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Milliseconds on the monotonic clock. */
static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *cafile = argc > 2 && argv[2][0] != '\0' ? argv[2] : NULL;
	double t[8];
	long verify;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd, one = 1, rc;

	if (argc < 2) {
		fprintf(stderr, "usage: tlsfloor PORT [CAFILE]\n");
		return 64;
	}
	sa.sin_port = htons((unsigned short)strtoul(argv[1], NULL, 10));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	t[0] = now_ms();
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL);
	t[1] = now_ms();
	(void)RAND_status();
	t[2] = now_ms();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return 69;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	t[3] = now_ms();
	if (SSL_CTX_load_verify_locations(ctx, cafile, cafile ? NULL :
	    "/etc/ssl/certs") != 1)
		return 69;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	t[4] = now_ms();
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 69;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		return 69;
	t[5] = now_ms();
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	SSL_set1_host(ssl, "localhost");
	rc = SSL_connect(ssl);
	t[6] = now_ms();
	verify = SSL_get_verify_result(ssl);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	t[7] = now_ms();
	printf("%.3f %.3f %.3f %.3f %.3f %.3f %.3f\n", t[1] - t[0],
	    t[2] - t[1], t[3] - t[2], t[4] - t[3], t[5] - t[4], t[6] - t[5],
	    t[7] - t[6]);
	return rc == 1 && verify == X509_V_OK ? 0 : 1;
}
