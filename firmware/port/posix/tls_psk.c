/* The simulator's TLS for MQTT (docs/plug-protocol.md, "MQTT over TLS"): an OpenSSL context
 * handed to libmosquitto (MOSQ_OPT_SSL_CTX) that speaks TLS 1.3 with the plug's external PSK and
 * nothing else. Not libmosquitto's own PSK mode: that one turns TLS 1.3 off in newer versions
 * (plain PSK suites, no forward secrecy) and accepts whatever certificate a server sends
 * instead of using the PSK, so a man in the middle would get the CONNECT and its password.
 * Here any certificate fails the handshake: the hub proves itself only by knowing the PSK.
 * One plug per process, so the key lives in this file. */
#include <openssl/ssl.h>
#include <string.h>

#include "sim.h"

static uint8_t psk_key[32];
static char psk_identity[64];

/* TLS_AES_128_GCM_SHA256: an external PSK is bound to one hash; the hub prefers this suite. */
static const unsigned char AES_128_GCM_SHA256[2] = {0x13, 0x01};

static int use_psk(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                   SSL_SESSION **sess)
{
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, AES_128_GCM_SHA256);
    *sess = NULL;
    *id = NULL;
    *idlen = 0;
    if (cipher == NULL) return 0;
    /* After a HelloRetryRequest OpenSSL asks again with the suite's hash fixed. */
    if (md != NULL && md != SSL_CIPHER_get_handshake_digest(cipher)) return 1;
    SSL_SESSION *s = SSL_SESSION_new();
    if (s == NULL || !SSL_SESSION_set1_master_key(s, psk_key, sizeof psk_key) ||
        !SSL_SESSION_set_cipher(s, cipher) || !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
        SSL_SESSION_free(s);
        return 0;
    }
    *sess = s;
    *id = (const unsigned char *)psk_identity;
    *idlen = strlen(psk_identity);
    return 1;
}

/* Called only if the server sent a certificate, i.e. did not take the PSK: never trusted. */
static int refuse_certificate(int preverify_ok, X509_STORE_CTX *store)
{
    (void)preverify_ok;
    (void)store;
    return 0;
}

void *sim_tls_psk_context(const uint8_t psk[32], const char *identity)
{
    if (strlen(identity) >= sizeof psk_identity) return NULL;
    memcpy(psk_key, psk, sizeof psk_key);
    memcpy(psk_identity, identity, strlen(identity) + 1);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) return NULL;
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256")) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, refuse_certificate);
    SSL_CTX_set_psk_use_session_callback(ctx, use_psk);
    /* OpenSSL offers psk_dhe_ke only by default (no SSL_OP_ALLOW_NO_DHE_KEX): ECDHE always runs. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
}

void sim_tls_context_free(void *ctx) { SSL_CTX_free((SSL_CTX *)ctx); }
