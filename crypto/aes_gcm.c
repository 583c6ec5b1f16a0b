/* crypto/aes_gcm.c: one AES-GCM pass (crypto/aes_gcm.h). */
#include "crypto/aes_gcm.h"

#include <bearssl.h>
#include <string.h>

bool aes_gcm(bool encrypt, const uint8_t *key, size_t key_len,
	     const uint8_t nonce[AES_GCM_NONCE_LEN], const void *aad1, size_t aad1_len,
	     const void *aad2, size_t aad2_len, void *data, size_t len,
	     uint8_t tag[AES_GCM_TAG_LEN])
{
	const br_block_ctr_class *aes_vt = br_aes_x86ni_ctr_get_vtable();
	br_ghash gh = br_ghash_pclmul_get();
	br_aes_gen_ctr_keys aes;
	br_gcm_context g;
	bool ok = true;

	if (aes_vt == NULL)
		aes_vt = &br_aes_ct64_ctr_vtable;
	aes_vt->init(&aes.vtable, key, key_len);
	br_gcm_init(&g, &aes.vtable, gh ? gh : br_ghash_ctmul64);
	br_gcm_reset(&g, nonce, AES_GCM_NONCE_LEN);
	if (aad1_len)
		br_gcm_aad_inject(&g, aad1, aad1_len);
	if (aad2_len)
		br_gcm_aad_inject(&g, aad2, aad2_len);
	br_gcm_flip(&g);
	br_gcm_run(&g, encrypt, data, len);
	if (encrypt)
		br_gcm_get_tag(&g, tag);
	else
		ok = br_gcm_check_tag(&g, tag) == 1;
	explicit_bzero(&aes, sizeof aes);
	explicit_bzero(&g, sizeof g);
	return ok;
}
