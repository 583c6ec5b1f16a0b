/* crypto/intel_root_ca.h: the compiled-in Intel SGX Root CA (DER). */
#ifndef DSHIELD_CRYPTO_INTEL_ROOT_CA_H
#define DSHIELD_CRYPTO_INTEL_ROOT_CA_H

#include <stddef.h>

extern const unsigned char intel_sgx_root_ca_der[];
extern const size_t intel_sgx_root_ca_der_len;

#endif
