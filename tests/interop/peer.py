#!/usr/bin/env python3
"""An independent peer for Strongbox's asymmetric keys, built on the `cryptography` package.

Reads a JSON list of tasks on stdin and writes a JSON list of results on stdout, one per task:
  verify    - checks a Strongbox signature with the key GetPublicKey returned
  encrypt   - RSA-OAEP-encrypts a plaintext with GetPublicKey's key (Strongbox must decrypt it)
  ecdh      - makes a peer key on the curve and derives the shared secret with Strongbox's key
  key_pair  - checks that a data key pair's private and public halves belong together
Blobs are base64. Used by crates/server/tests/interop.rs.
"""
import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
CURVES = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
}


def b64(data):
    return base64.b64decode(data)


def verify(task):
    key = serialization.load_der_public_key(b64(task["public_key"]))
    algorithm = task["algorithm"]
    message = b64(task["message"])
    signature = b64(task["signature"])
    digest = task.get("message_type") == "DIGEST"
    try:
        if algorithm.startswith("ED25519"):
            # Pure Ed25519 over the raw message (ED25519_SHA_512).
            key.verify(signature, message)
            return {"ok": True}
        hash_cls = HASHES[algorithm[-3:]]
        chosen = utils.Prehashed(hash_cls()) if digest else hash_cls()
        if algorithm.startswith("RSASSA_PSS"):
            pss = padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=hash_cls.digest_size)
            key.verify(signature, message, pss, chosen)
        elif algorithm.startswith("RSASSA_PKCS1"):
            key.verify(signature, message, padding.PKCS1v15(), chosen)
        elif algorithm.startswith("ECDSA"):
            key.verify(signature, message, ec.ECDSA(chosen))
        else:
            return {"error": "unknown algorithm " + algorithm}
        return {"ok": True}
    except InvalidSignature:
        return {"ok": False}


def encrypt(task):
    key = serialization.load_der_public_key(b64(task["public_key"]))
    hash_cls = hashes.SHA1 if task["algorithm"] == "RSAES_OAEP_SHA_1" else hashes.SHA256
    oaep = padding.OAEP(mgf=padding.MGF1(hash_cls()), algorithm=hash_cls(), label=None)
    return {"ciphertext": base64.b64encode(key.encrypt(b64(task["plaintext"]), oaep)).decode()}


def ecdh(task):
    kms_public = serialization.load_der_public_key(b64(task["public_key"]))
    peer = ec.generate_private_key(CURVES[task["curve"]]())
    secret = peer.exchange(ec.ECDH(), kms_public)
    peer_public = peer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "peer_public_key": base64.b64encode(peer_public).decode(),
        "shared_secret": base64.b64encode(secret).decode(),
    }


def key_pair(task):
    private = serialization.load_der_private_key(b64(task["private_key"]), password=None)
    derived = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kind = type(private).__name__
    return {"match": derived == b64(task["public_key"]), "kind": kind}


OPERATIONS = {"verify": verify, "encrypt": encrypt, "ecdh": ecdh, "key_pair": key_pair}


def main():
    tasks = json.load(sys.stdin)
    results = []
    for task in tasks:
        try:
            results.append(OPERATIONS[task["op"]](task))
        except Exception as error:  # report, never crash: the Rust side asserts on results
            results.append({"error": f"{type(error).__name__}: {error}"})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
