/**
 * The device gateway: Teltonika trackers (Codec 8 / 8 Extended over TCP) into the fusion. Devices log in with
 * their IMEI (only the device registry's are accepted), their records go to the push topic the collector drains,
 * and each packet is acknowledged only once the broker accepted its records.
 *
 * @example
 * ```ts
 * import { createDeviceGateway, gatewayConfigFromEnv } from '@transit-fusion/device-gateway';
 * const gateway = createDeviceGateway({ config: gatewayConfigFromEnv(process.env), logger, metrics, liveness });
 * const { tcpPort } = await gateway.start();
 * // … trackers connect to tcpPort …
 * await gateway.stop();
 * ```
 */
export { gatewayConfigFromEnv, GATEWAY_ENV_DEFAULTS, type GatewayConfig } from './config.js';
export { createDeviceGateway, type DeviceGateway, type DeviceGatewayDeps } from './device-gateway.js';
export { createDeviceRegistry, type DeviceRegistry, type DeviceRegistryDeps } from './device-registry.js';
export { createRecordForwarder, type RecordForwarder, type RecordForwarderDeps } from './record-forwarder.js';
export { createTcpGateway, WATCHDOG_IMEI, type TcpGateway, type TcpGatewayDeps } from './tcp-gateway.js';
export { startWatchdog, ACCEPT_LOOP_HEARTBEAT, type Watchdog } from './watchdog.js';
export { GatewayError, isGatewayError, type GatewayErrorCode } from './gateway-error.js';
