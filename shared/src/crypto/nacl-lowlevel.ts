// The part of tweetnacl's exported low-level interface (`nacl.lowlevel`, NaCl's C names) that the sealing code
// composes: exported by tweetnacl for "third-party projects that rely on low-level interface", but not typed.
// test/unit/secretbox-open.test.ts and test/unit/seal.test.ts check what is built from it against tweetnacl's
// documented API, so a tweetnacl that changed these functions would fail there.
import nacl from 'tweetnacl';

export interface NaclLowlevel {
  crypto_core_hsalsa20(out: Uint8Array, input: Uint8Array, key: Uint8Array, sigma: Uint8Array): void;
  crypto_stream_salsa20_xor(
    c: Uint8Array,
    cpos: number,
    m: Uint8Array,
    mpos: number,
    bytes: number,
    nonce: Uint8Array,
    key: Uint8Array,
  ): number;
  crypto_onetimeauth_verify(
    h: Uint8Array,
    hpos: number,
    m: Uint8Array,
    mpos: number,
    n: number,
    key: Uint8Array,
  ): number;
}

export const lowlevel = (nacl as unknown as { lowlevel: NaclLowlevel }).lowlevel;

/** Salsa20's constant, "expand 32-byte k". */
export const SIGMA = new TextEncoder().encode('expand 32-byte k');
