import { describe, expect, it } from 'vitest';
import { ma2485 } from '../../emu/models/index.js';
import { DirectHost } from '../support/direct-host.js';

const SET_ADDRESS = (address: number) => ({ requestType: 0x00, request: 5, value: address, index: 0, length: 0 });
const SET_CONFIGURATION = (value: number) => ({ requestType: 0x00, request: 9, value, index: 0, length: 0 });
const GET_CONFIGURATION = { requestType: 0x80, request: 8, value: 0, index: 0, length: 1 };
const GET_STATUS = (recipient: number, index: number) => ({ requestType: 0x80 | recipient, request: 0, value: 0, index, length: 2 });
const FEATURE = (request: 1 | 3, endpoint: number) => ({ requestType: 0x02, request, value: 0, index: endpoint, length: 0 });

function states(host: DirectHost): string[] {
  return host.of('usb.state').map((e) => e.state);
}

describe('USB device states (chapter 9)', () => {
  it('go attached, powered, default, address, configured; address 0 and configuration 0 go back', () => {
    const host = new DirectHost({ model: ma2485 });
    host.stick.plug();
    expect(states(host)).toEqual(['attached', 'powered']);
    host.stick.busReset();
    host.mustControl(SET_ADDRESS(7));
    expect(host.stick.usb.address).toBe(7);
    host.mustControl(SET_CONFIGURATION(1));
    host.mustControl(SET_CONFIGURATION(0));
    host.mustControl(SET_ADDRESS(0));
    expect(states(host)).toEqual(['attached', 'powered', 'default', 'address', 'configured', 'address', 'default']);
  });

  it('a control request before the first bus reset gets no answer', () => {
    const host = new DirectHost({ model: ma2485 });
    host.stick.plug();
    expect(host.control(GET_STATUS(0, 0))?.status).toBe('no-device');
  });

  it('SET_CONFIGURATION(1) again in the configured state succeeds and keeps the configuration', () => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    expect(host.control(SET_CONFIGURATION(1))?.status).toBe('ok');
    expect(host.control(SET_CONFIGURATION(1))?.status).toBe('ok');
    expect(host.mustControl(GET_CONFIGURATION).data).toEqual(Uint8Array.of(1));
  });

  it('GET_CONFIGURATION answers 0 in the address state', () => {
    const host = new DirectHost({ model: ma2485 });
    host.stick.plug();
    host.stick.busReset();
    host.mustControl(SET_ADDRESS(3));
    expect(host.mustControl(GET_CONFIGURATION).data).toEqual(Uint8Array.of(0));
  });

  it('requests the spec leaves undefined in a state STALL: SET_CONFIGURATION in default, SET_ADDRESS when configured, a configuration that does not exist', () => {
    const host = new DirectHost({ model: ma2485 });
    host.stick.plug();
    host.stick.busReset();
    expect(host.control(SET_CONFIGURATION(1))?.status).toBe('stall');
    host.mustControl(SET_ADDRESS(1));
    expect(host.control(SET_CONFIGURATION(2))?.status).toBe('stall');
    host.mustControl(SET_CONFIGURATION(1));
    expect(host.control(SET_ADDRESS(2))?.status).toBe('stall');
    expect(host.control(SET_ADDRESS(200))?.status).toBe('stall');
  });

  it('GET_STATUS: bus powered device, interface 0, endpoints with their halt bit', () => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    expect(host.mustControl(GET_STATUS(0, 0)).data).toEqual(Uint8Array.of(0, 0));
    expect(host.mustControl(GET_STATUS(1, 0)).data).toEqual(Uint8Array.of(0, 0));
    expect(host.mustControl(GET_STATUS(2, 0x81)).data).toEqual(Uint8Array.of(0, 0));
    expect(host.control(GET_STATUS(1, 1))?.status).toBe('stall');
    expect(host.control(GET_STATUS(2, 0x82))?.status).toBe('stall');
  });

  it('SET_FEATURE(ENDPOINT_HALT) stalls the endpoint until CLEAR_FEATURE(ENDPOINT_HALT)', () => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    host.mustControl(FEATURE(3, 0x81));
    expect(host.mustControl(GET_STATUS(2, 0x81)).data).toEqual(Uint8Array.of(1, 0));
    expect(host.in(0x81, 64)?.status).toBe('stall');
    host.mustControl(FEATURE(1, 0x81));
    expect(host.mustControl(GET_STATUS(2, 0x81)).data).toEqual(Uint8Array.of(0, 0));
    expect(host.of('usb.halt').map((e) => [e.endpoint, e.halted])).toEqual([
      [0x81, true],
      [0x81, false],
    ]);
  });

  it('SET_INTERFACE(0, 0) succeeds and clears halts; alternate 1 and interface 1 STALL; GET_INTERFACE answers 0', () => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    host.mustControl(FEATURE(3, 0x01));
    host.mustControl({ requestType: 0x01, request: 11, value: 0, index: 0, length: 0 });
    expect(host.stick.usb.isHalted(0x01)).toBe(false);
    expect(host.control({ requestType: 0x01, request: 11, value: 1, index: 0, length: 0 })?.status).toBe('stall');
    expect(host.control({ requestType: 0x01, request: 11, value: 0, index: 1, length: 0 })?.status).toBe('stall');
    expect(host.mustControl({ requestType: 0x81, request: 10, value: 0, index: 0, length: 1 }).data).toEqual(Uint8Array.of(0));
  });

  it('everything else STALLs: vendor and class requests, SET_DESCRIPTOR, SYNCH_FRAME, remote wakeup, test mode', () => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    for (const setup of [
      { requestType: 0xc0, request: 1, value: 0, index: 0, length: 4 },
      { requestType: 0x21, request: 0, value: 0, index: 0, length: 0 },
      { requestType: 0x00, request: 7, value: 0x0100, index: 0, length: 0 },
      { requestType: 0x82, request: 12, value: 0, index: 0x81, length: 2 },
      { requestType: 0x00, request: 3, value: 1, index: 0, length: 0 },
      { requestType: 0x00, request: 3, value: 2, index: 0x0400, length: 0 },
      { requestType: 0x00, request: 6, value: 0x0100, index: 0, length: 18 }, // GET_DESCRIPTOR with the OUT direction
    ]) {
      expect(host.control(setup)?.status, JSON.stringify(setup)).toBe('stall');
    }
    // The device is still fine afterwards.
    expect(host.mustControl(GET_CONFIGURATION).data).toEqual(Uint8Array.of(1));
  });

  it('bulk transfers before configuration and on endpoints that do not exist STALL', () => {
    const host = new DirectHost({ model: ma2485 });
    host.stick.plug();
    host.stick.busReset();
    host.mustControl(SET_ADDRESS(1));
    expect(host.out(0x01, Uint8Array.of(0))?.status).toBe('stall');
    host.mustControl(SET_CONFIGURATION(1));
    expect(host.out(0x02, Uint8Array.of(0))?.status).toBe('stall');
    expect(host.in(0x83, 4)?.status).toBe('stall');
  });

  it('a bus reset cancels pending transfers and goes back to the default state', () => {
    const host = new DirectHost({ model: ma2485 }).enumerate();
    const id = host.submit(0x81, 64, null);
    host.run(1);
    host.stick.busReset();
    expect(host.done(id)?.status).toBe('cancelled');
    expect(host.stick.usb.state).toBe('default');
    expect(host.stick.usb.address).toBe(0);
  });
});
