import type { ConfigurationSpec } from '../models/model.js';
import type { DescriptorSet } from './descriptors.js';
import type { UsbDeviceContext, UsbDeviceEvent, UsbDeviceState } from './device-machine.js';
import { DescriptorType, DIR_IN, Feature, Request, recipient, requestKind, type SetupPacket } from './setup.js';

/** The answer to one control request: STALL, or success with IN data and a state change. */
export type RequestOutcome =
  | { readonly status: 'stall' }
  | { readonly status: 'ok'; readonly data: Uint8Array | null; readonly effect: UsbDeviceEvent | null };

const STALL: RequestOutcome = { status: 'stall' };
const ok = (data: Uint8Array | null = null, effect: UsbDeviceEvent | null = null): RequestOutcome => ({ status: 'ok', data, effect });

export interface DeviceView {
  readonly state: UsbDeviceState;
  readonly context: UsbDeviceContext;
  readonly descriptors: DescriptorSet;
}

/**
 * USB 2.0 section 9.4, for the requests the sticks answer: GET_DESCRIPTOR, SET_ADDRESS,
 * GET/SET_CONFIGURATION, GET_STATUS, CLEAR/SET_FEATURE(ENDPOINT_HALT), GET/SET_INTERFACE.
 * Everything else, and every request the spec leaves undefined in the current state, STALLs.
 */
export function standardRequest(view: DeviceView, setup: SetupPacket): RequestOutcome {
  if (requestKind(setup.requestType) !== 'standard') return STALL;
  const to = recipient(setup.requestType);
  const isIn = (setup.requestType & DIR_IN) !== 0;
  const { state, context } = view;
  const configured = state === 'configured';
  const config = configured ? configurationSpec(view) : undefined;

  switch (setup.request) {
    case Request.GET_DESCRIPTOR:
      if (!isIn || to !== 'device') return STALL;
      return descriptor(view, setup);

    case Request.SET_ADDRESS:
      if (isIn || to !== 'device' || setup.index !== 0 || setup.length !== 0 || setup.value > 127) return STALL;
      if (state !== 'default' && state !== 'address') return STALL;
      return ok(null, { type: 'SET_ADDRESS', address: setup.value });

    case Request.GET_CONFIGURATION:
      if (!isIn || to !== 'device' || setup.value !== 0 || setup.index !== 0 || setup.length !== 1) return STALL;
      if (state !== 'address' && !configured) return STALL;
      return ok(Uint8Array.of(context.configuration));

    case Request.SET_CONFIGURATION: {
      if (isIn || to !== 'device' || setup.index !== 0 || setup.length !== 0) return STALL;
      if (state !== 'address' && !configured) return STALL;
      const value = setup.value & 0xff;
      if (value !== 0 && !view.context.personality!.configurations.some((c) => c.value === value)) return STALL;
      return ok(null, { type: 'SET_CONFIGURATION', value });
    }

    case Request.GET_STATUS: {
      if (!isIn || setup.value !== 0 || setup.length !== 2) return STALL;
      if (to === 'device') {
        if (setup.index !== 0) return STALL;
        const attributes = config?.attributes ?? view.context.personality!.configurations[0]?.attributes ?? 0x80;
        return ok(Uint8Array.of(attributes & 0x40 ? 1 : 0, 0));
      }
      if (to === 'interface') return config && hasInterface(config, setup.index) ? ok(Uint8Array.of(0, 0)) : STALL;
      if (to === 'endpoint') {
        if (!endpointExists(view, setup.index & 0xff, config)) return STALL;
        return ok(Uint8Array.of(context.halted.includes(setup.index & 0xff) ? 1 : 0, 0));
      }
      return STALL;
    }

    case Request.CLEAR_FEATURE:
    case Request.SET_FEATURE: {
      if (isIn || setup.length !== 0 || to !== 'endpoint' || setup.value !== Feature.ENDPOINT_HALT) return STALL;
      const endpoint = setup.index & 0xff;
      if (!endpointExists(view, endpoint, config)) return STALL;
      if ((endpoint & 0x7f) === 0) return ok();
      return ok(null, { type: setup.request === Request.SET_FEATURE ? 'HALT' : 'CLEAR_HALT', endpoint });
    }

    case Request.GET_INTERFACE:
      if (!isIn || to !== 'interface' || setup.value !== 0 || setup.length !== 1) return STALL;
      return config && hasInterface(config, setup.index) ? ok(Uint8Array.of(0)) : STALL;

    case Request.SET_INTERFACE: {
      if (isIn || to !== 'interface' || setup.length !== 0 || !config) return STALL;
      const intf = config.interfaces.find((i) => i.number === setup.index && i.alternate === setup.value);
      if (!intf) return STALL;
      return ok(null, { type: 'SET_INTERFACE', endpoints: intf.endpoints.map((e) => e.address) });
    }

    default:
      return STALL;
  }
}

function descriptor(view: DeviceView, setup: SetupPacket): RequestOutcome {
  const type = setup.value >> 8;
  const index = setup.value & 0xff;
  const d = view.descriptors;
  let bytes: Uint8Array | undefined;
  if (type === DescriptorType.DEVICE && index === 0) bytes = d.device;
  else if (type === DescriptorType.CONFIGURATION) bytes = d.configurations[index];
  else if (type === DescriptorType.STRING) bytes = d.strings.get(index);
  return bytes ? ok(bytes.subarray(0, setup.length)) : STALL;
}

function configurationSpec(view: DeviceView): ConfigurationSpec | undefined {
  return view.context.personality?.configurations.find((c) => c.value === view.context.configuration);
}

function hasInterface(config: ConfigurationSpec, number: number): boolean {
  return config.interfaces.some((i) => i.number === number);
}

/** Endpoint 0 always exists; the others only in the configured state. */
function endpointExists(view: DeviceView, endpoint: number, config: ConfigurationSpec | undefined): boolean {
  if ((endpoint & 0x7f) === 0) return view.state === 'address' || view.state === 'configured';
  return !!config && config.interfaces.some((i) => i.endpoints.some((e) => e.address === endpoint));
}
