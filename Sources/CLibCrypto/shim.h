#ifndef DQT_CLIBCRYPTO_SHIM_H
#define DQT_CLIBCRYPTO_SHIM_H
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/* OpenSSL's stacks and a few accessors are macros, which Swift cannot call: one typed wrapper each. */
static inline STACK_OF(X509) *dqt_x509_stack_new(void) { return sk_X509_new_null(); }
static inline int dqt_x509_stack_push(STACK_OF(X509) *stack, X509 *cert) { return sk_X509_push(stack, cert); }
static inline int dqt_x509_stack_count(const STACK_OF(X509) *stack) { return stack ? sk_X509_num(stack) : 0; }
static inline X509 *dqt_x509_stack_at(const STACK_OF(X509) *stack, int index) { return sk_X509_value(stack, index); }
/* Frees the stack only: its certificates are owned elsewhere. */
static inline void dqt_x509_stack_free(STACK_OF(X509) *stack) { sk_X509_free(stack); }

static inline int dqt_cms_signer_count(CMS_ContentInfo *cms) {
    STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(cms);
    return infos ? sk_CMS_SignerInfo_num(infos) : 0;
}
static inline CMS_SignerInfo *dqt_cms_signer_at(CMS_ContentInfo *cms, int index) {
    return sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), index);
}

static inline long dqt_bio_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

/* The subjectAltName rfc822Name entries of `cert`, each written as one line into `out`. */
static inline int dqt_x509_write_email_names(X509 *cert, BIO *out) {
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int count = 0;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        if (name->type != GEN_EMAIL) continue;
        ASN1_IA5STRING *email = name->d.rfc822Name;
        BIO_write(out, ASN1_STRING_get0_data(email), ASN1_STRING_length(email));
        BIO_write(out, "\n", 1);
        count++;
    }
    GENERAL_NAMES_free(names);
    return count;
}

/* The subject's emailAddress attributes of `cert`, each written as one line into `out`. */
static inline int dqt_x509_write_subject_emails(X509 *cert, BIO *out) {
    X509_NAME *subject = X509_get_subject_name(cert);
    int count = 0;
    for (int i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, -1); i >= 0;
         i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, i)) {
        ASN1_STRING *email = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
        BIO_write(out, ASN1_STRING_get0_data(email), ASN1_STRING_length(email));
        BIO_write(out, "\n", 1);
        count++;
    }
    return count;
}

/* The content of an opaque (encapsulated) signed-data, or NULL for a detached signature. */
static inline int dqt_cms_embedded_content(CMS_ContentInfo *cms, const unsigned char **data) {
    ASN1_OCTET_STRING **content = CMS_get0_content(cms);
    if (!content || !*content) return -1;
    *data = ASN1_STRING_get0_data(*content);
    return ASN1_STRING_length(*content);
}
#endif
