/**
 * The Teltonika tracker TCP protocol, without sockets: an incremental frame reader for one connection (IMEI
 * login, Codec 8 / 8 Extended AVL packets, Codec 12 replies), encoders for the server's answers and for a
 * simulated device, and the mapping of AVL records into the model's vendor records.
 *
 * @example
 * ```ts
 * import {
 *   createFrameReader, encodeAck, isTeltonikaError, LOGIN_ACCEPT, parseIoMapping, toVendorRecord,
 * } from '@transit-fusion/teltonika';
 * const mapping = parseIoMapping(config.ioMapping); // at start-up: INVALID_MAPPING stops it
 * const reader = createFrameReader({ maxPacketBytes: 16_384 });
 * socket.on('data', (chunk) => {
 *   let frames;
 *   try {
 *     frames = reader.push(chunk);
 *   } catch (error) {
 *     if (isTeltonikaError(error)) log.warn({ code: error.code }, error.message); // always fatal here
 *     return socket.destroy();
 *   }
 *   for (const frame of frames) {
 *     if (frame.kind === 'login') socket.write(LOGIN_ACCEPT);
 *     else if (frame.kind === 'avl') {
 *       const { records } = frame.packet;
 *       publish(records.map((r) => toVendorRecord(reader.imei!, r, { vendorId: 'trackers', mapping })));
 *       socket.write(encodeAck(records.length)); // once they are safe; the device resends what is not acked
 *     } else if (frame.kind === 'rejected') log.warn({ code: frame.error.code }, frame.error.message); // no ack
 *   }
 * });
 * ```
 */
export { TeltonikaError, isTeltonikaError, FATAL_CODES, type TeltonikaErrorCode } from './teltonika-error.js';
export { crc16Ibm } from './crc16-ibm.js';
export { CODEC_8, CODEC_8E, CODEC_12, DEFAULT_MAX_PACKET_BYTES } from './packet-framing.js';
export {
  createFrameReader,
  type FrameReader,
  type FrameReaderOptions,
  type FrameReaderState,
  type TeltonikaFrame,
} from './frame-reader.js';
export { encodeLogin, encodeAck, LOGIN_ACCEPT, LOGIN_REJECT, MAX_IMEI_LENGTH } from './login.js';
export {
  decodeAvlPacket,
  encodeAvlPacket,
  type AvlCodec,
  type AvlPriority,
  type AvlPacket,
  type AvlRecord,
  type AvlRecordInit,
  type EncodeAvlOptions,
  type IoValue,
  type IoWidth,
} from './avl-packet.js';
export {
  decodeCodec12Packet,
  encodeCodec12Command,
  encodeCodec12Response,
  type Codec12Message,
  type Codec12Type,
} from './codec12.js';
export {
  parseIoMapping,
  readIo,
  DEFAULT_IO_MAPPING,
  IO_FIELDS,
  IO_VALUE_TYPES,
  type IoField,
  type IoValueType,
  type IoMapping,
  type IoMappingEntry,
  type IoReadings,
} from './io-mapping.js';
export { toVendorRecord, type VendorRecordOptions } from './vendor-record.js';
