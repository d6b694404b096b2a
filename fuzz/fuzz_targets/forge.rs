//! What the fuzz targets share: inputs rewritten to carry a real model's id
//! and fresh CRCs, so that forged fields and payloads get past the
//! checksums and reach the decoders.

/// `data` with `id` as its model id and a fresh header CRC (inputs shorter
/// than a header are left as they are); with `chunks`, every chunk CRC
/// that the declared lengths reach is rewritten too.
pub fn forged(data: &[u8], id: &[u8; 32], chunks: bool) -> Vec<u8> {
    let mut bytes = data.to_vec();
    if bytes.len() < 76 {
        return bytes;
    }
    bytes[8..40].copy_from_slice(id);
    let crc = crc32fast::hash(&bytes[..72]);
    bytes[72..76].copy_from_slice(&crc.to_le_bytes());
    if chunks {
        let mut at = 76;
        while at + 8 <= bytes.len() {
            let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
            if bytes.len() - at - 8 < len {
                break;
            }
            let crc = crc32fast::hash(&bytes[at..at + 4 + len]);
            bytes[at + 4 + len..at + 8 + len].copy_from_slice(&crc.to_le_bytes());
            at += 8 + len;
        }
    }
    bytes
}
