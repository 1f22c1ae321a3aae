/**
 * Re-encodes a DER ContentInfo(EnvelopedData) in the BER streaming form OpenSSL and Apple's
 * token service emit: the constructed wrappers (ContentInfo, [0], EnvelopedData,
 * EncryptedContentInfo) with indefinite lengths, and the encrypted content as a constructed
 * [0] of OCTET STRING chunks. `buildEnvelope` (src/pki) writes DER only, so the BER form
 * lives here rather than in the PKI module.
 */
import { TAG, ctxTag, items, parseDer, tlv } from '../../pki/der.js';

const EOC = Buffer.from([0, 0]);
const open = (tag: number) => Buffer.from([tag, 0x80]);

export function envelopeToIndefiniteBer(der: Buffer, chunkSize = 1024): Buffer {
  const what = 'EnvelopedData';
  const ci = items(parseDer(der, what), TAG.SEQUENCE, what, 2);
  const ed = items(items(ci[1], ctxTag(0), what, 1)[0], TAG.SEQUENCE, what, 3);
  const eciIndex = ed.length - 1;
  const eci = items(ed[eciIndex], TAG.SEQUENCE, what, 3);
  const content = eci[2];
  if (content.tag !== ctxTag(0, false)) throw new Error('expected primitive [0] encrypted content');
  const chunks: Buffer[] = [];
  for (let i = 0; i < content.body.length; i += chunkSize) chunks.push(tlv(TAG.OCTET_STRING, content.body.subarray(i, i + chunkSize)));
  return Buffer.concat([
    open(TAG.SEQUENCE),
    ci[0].raw,
    open(ctxTag(0)),
    open(TAG.SEQUENCE),
    ...ed.slice(0, eciIndex).map((e) => e.raw), // version, originatorInfo?, recipientInfos: definite, as OpenSSL writes them
    open(TAG.SEQUENCE),
    eci[0].raw,
    eci[1].raw,
    open(ctxTag(0)),
    ...chunks,
    EOC, // [0] encryptedContent
    EOC, // EncryptedContentInfo
    EOC, // EnvelopedData
    EOC, // [0]
    EOC, // ContentInfo
  ]);
}
