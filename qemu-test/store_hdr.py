#!/usr/bin/env python3
# qemu-test/store_hdr.py: the store header (fs/store_hdr.h, docs/STORE.md)
# written a second time, independently, for the tests: read a data disk's
# header, change fields and recompute the MAC with a key the test knows
# (the dev provider's key from the policy).
#
#   store_hdr.py show DISK
#   store_hdr.py set DISK KEYHEX FIELD=VALUE...   fields: cipher, key_bits,
#       data_sectors, provider, generation (the MAC recomputed with KEYHEX)
#   store_hdr.py flip DISK OFFSET                 flip one bit (no new MAC)
#   store_hdr.py golden                           a fixed header, in hex
#   store_hdr.py rot DISK                         one byte changed in every
#       sector of the data area past its first 4 KiB
#   store_hdr.py unquota DISK KEYHEX              the store as a build before
#       project quotas formatted it: its ext4 decrypted (aes-xts-plain64 with
#       the crypt subkey, python3-cryptography), tune2fs -O ^quota, ^project
#       on the plain copy, the sectors that changed encrypted back
import hashlib, hmac, struct, sys

SIZE, MAC_OFF = 512, 480
INFO_MAC = b"dshield-store/v1 header mac key"
INFO_CRYPT = b"dshield-store/v1 dm-crypt key"
FMT = "<8sII32s32sIIQQII32s16sQQ"  # up to the reserved bytes (offset 176)

def hkdf(salt, ikm, info, n):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out, i = out + t, i + 1
    return out[:n]

def unpack(b):
    f = struct.unpack_from(FMT, b)
    keys = ["magic", "version", "length", "instance", "cipher", "key_bits", "sector_size",
            "data_offset", "data_sectors", "kdf", "integrity", "salt", "provider", "generation",
            "integ_sectors"]
    return dict(zip(keys, f))

def pack(h):
    b = struct.pack(FMT, h["magic"], h["version"], h["length"], h["instance"],
                    h["cipher"].ljust(32, b"\0"), h["key_bits"], h["sector_size"],
                    h["data_offset"], h["data_sectors"], h["kdf"], h["integrity"],
                    h["salt"], h["provider"].ljust(16, b"\0"), h["generation"], h["integ_sectors"])
    return b.ljust(MAC_OFF, b"\0")

def seal(h, key):
    body = pack(h)
    mac_key = hkdf(h["salt"] + h["instance"], key, INFO_MAC, 32)
    return body + hmac.new(mac_key, body, hashlib.sha256).digest()

def xts(key, sector, data, encrypt):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    c = Cipher(algorithms.AES(key), modes.XTS(sector.to_bytes(16, "little")))
    x = c.encryptor() if encrypt else c.decryptor()
    return x.update(data) + x.finalize()

def unquota(f, h, key):
    import os, subprocess, tempfile
    ck = hkdf(h["salt"] + h["instance"], key, INFO_CRYPT, 64)
    base, n = h["data_offset"] * 512, h["data_sectors"]
    fd, plain = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(f.name)))
    try:
        with os.fdopen(fd, "w+b") as p:
            f.seek(base)
            for s in range(n):   # plain64: the IV is the sector inside the area
                p.write(xts(ck, s, f.read(512), False))
        before = open(plain, "rb").read()
        for feat in ("^quota", "^project"):
            subprocess.run(["tune2fs", "-O", feat, plain], check=True, stdout=subprocess.DEVNULL)
        after = open(plain, "rb").read()
        changed = 0
        for s in range(n):
            a = after[s * 512:(s + 1) * 512]
            if a != before[s * 512:(s + 1) * 512]:
                f.seek(base + s * 512)
                f.write(xts(ck, s, a, True))
                changed += 1
        print("sectors rewritten", changed)
    finally:
        os.unlink(plain)
    return 0

def rot(f, h):
    # one byte changed in every sector of the data area past its first 4 KiB
    # (dm-integrity's superblock, kept so that the device still loads)
    f.seek(0, 2)
    end = f.tell() // 512
    for s in range(h["data_offset"] + 8, end):
        f.seek(s * 512 + 100)
        b = f.read(1)
        f.seek(s * 512 + 100)
        f.write(bytes([b[0] ^ 0x5a]))
    print("sectors changed", end - h["data_offset"] - 8)
    return 0

def main(argv):
    if argv[1] == "golden":
        h = dict(magic=b"DSHSTORE", version=1, length=512, instance=b"\x11" * 32,
                 cipher=b"aes-xts-plain64", key_bits=512, sector_size=512, data_offset=2048,
                 data_sectors=1 << 20, kdf=1, integrity=0, salt=b"\xa5" * 32,
                 provider=b"dev", generation=7, integ_sectors=0)
        print(seal(h, bytes(range(64))).hex())
        return 0
    disk = argv[2]
    with open(disk, "r+b") as f:
        b = f.read(SIZE)
        h = unpack(b)
        if argv[1] == "show":
            for k, v in h.items():
                print(k, v.rstrip(b"\0").decode() if k in ("magic", "cipher", "provider") else
                      (v.hex() if isinstance(v, bytes) else v))
            return 0
        if argv[1] == "flip":
            off = int(argv[3])
            f.seek(off)
            f.write(bytes([b[off] ^ 1]))
            return 0
        if argv[1] == "rot":
            return rot(f, h)
        if argv[1] == "unquota":
            return unquota(f, h, bytes.fromhex(argv[3]))
        if argv[1] == "set":
            key = bytes.fromhex(argv[3])
            for kv in argv[4:]:
                k, v = kv.split("=", 1)
                h[k] = v.encode() if k in ("cipher", "provider") else int(v)
                if k in ("cipher", "provider"):
                    h[k] = h[k]
            out = seal(h, key)
            f.seek(0)
            f.write(out)
            return 0
    print("usage: store_hdr.py show|set|flip|golden ...", file=sys.stderr)
    return 2

if __name__ == "__main__":
    sys.exit(main(sys.argv))
