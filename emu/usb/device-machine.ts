import { castDraft, produce } from 'immer';
import { assign, setup } from 'xstate';
import type { UsbPersonality } from '../models/model.js';

/**
 * The USB 2.0 device states (chapter 9.1, figure 9-1) of one stick as a statechart:
 *
 *   detached --ATTACH--> attached --POWER--> powered --BUS_RESET--> default
 *   default --SET_ADDRESS(n>0)--> address --SET_CONFIGURATION(n>0)--> configured
 *   address --SET_ADDRESS(0)--> default;  configured --SET_CONFIGURATION(0)--> address
 *   any state --DETACH--> detached;  powered/default/address/configured --BUS_RESET--> default
 *
 * Whether a request is allowed in a state is decided in requests.ts (a request the spec
 * leaves undefined in a state STALLs and sends no event here). Suspend is not modelled.
 */

export interface UsbDeviceContext {
  /** The identity on the bus: the ROM's, later the firmware's. */
  readonly personality: UsbPersonality | null;
  readonly address: number;
  readonly configuration: number;
  /** Endpoint addresses with the halt feature set. */
  readonly halted: readonly number[];
}

export type UsbDeviceEvent =
  | { type: 'ATTACH'; personality: UsbPersonality }
  | { type: 'POWER' }
  | { type: 'DETACH' }
  | { type: 'BUS_RESET' }
  | { type: 'SET_ADDRESS'; address: number }
  | { type: 'SET_CONFIGURATION'; value: number }
  | { type: 'SET_INTERFACE'; endpoints: readonly number[] }
  | { type: 'HALT'; endpoint: number }
  | { type: 'CLEAR_HALT'; endpoint: number };

export type UsbDeviceState = 'detached' | 'attached' | 'powered' | 'default' | 'address' | 'configured';

const initialContext: UsbDeviceContext = { personality: null, address: 0, configuration: 0, halted: [] };

export const usbDeviceMachine = setup({
  types: {
    context: {} as UsbDeviceContext,
    events: {} as UsbDeviceEvent,
  },
  actions: {
    takePersonality: assign(({ context, event }) =>
      produce(context, (draft) => {
        if (event.type === 'ATTACH') draft.personality = castDraft(event.personality);
      }),
    ),
    forgetEverything: assign(() => initialContext),
    enterDefault: assign(({ context }) =>
      produce(context, (draft) => {
        draft.address = 0;
        draft.configuration = 0;
        draft.halted = [];
      }),
    ),
    setAddress: assign(({ context, event }) =>
      produce(context, (draft) => {
        if (event.type === 'SET_ADDRESS') draft.address = event.address;
      }),
    ),
    // Selecting a configuration (again) sets every endpoint back to its default: no halt.
    setConfiguration: assign(({ context, event }) =>
      produce(context, (draft) => {
        if (event.type === 'SET_CONFIGURATION') draft.configuration = event.value;
        draft.halted = [];
      }),
    ),
    // Selecting an alternate setting resets the endpoints of that interface.
    resetInterfaceEndpoints: assign(({ context, event }) =>
      produce(context, (draft) => {
        if (event.type === 'SET_INTERFACE') draft.halted = draft.halted.filter((ep) => !event.endpoints.includes(ep));
      }),
    ),
    halt: assign(({ context, event }) =>
      produce(context, (draft) => {
        if (event.type === 'HALT' && !draft.halted.includes(event.endpoint)) draft.halted.push(event.endpoint);
      }),
    ),
    clearHalt: assign(({ context, event }) =>
      produce(context, (draft) => {
        if (event.type === 'CLEAR_HALT') draft.halted = draft.halted.filter((ep) => ep !== event.endpoint);
      }),
    ),
  },
  guards: {
    addressIsZero: ({ event }) => event.type === 'SET_ADDRESS' && event.address === 0,
    configurationIsZero: ({ event }) => event.type === 'SET_CONFIGURATION' && event.value === 0,
  },
}).createMachine({
  id: 'usb-device',
  initial: 'detached',
  context: initialContext,
  on: {
    DETACH: { target: '.detached', actions: 'forgetEverything' },
    HALT: { actions: 'halt' },
    CLEAR_HALT: { actions: 'clearHalt' },
  },
  states: {
    detached: {
      on: { ATTACH: { target: 'attached', actions: 'takePersonality' } },
    },
    attached: {
      // The sticks are bus powered: power arrives with the attach.
      on: { POWER: 'powered' },
    },
    powered: {
      on: { BUS_RESET: 'default' },
    },
    default: {
      entry: 'enterDefault',
      on: {
        BUS_RESET: { target: 'default', reenter: true },
        SET_ADDRESS: [{ guard: 'addressIsZero' }, { target: 'address', actions: 'setAddress' }],
      },
    },
    address: {
      on: {
        BUS_RESET: 'default',
        SET_ADDRESS: [{ guard: 'addressIsZero', target: 'default' }, { actions: 'setAddress' }],
        SET_CONFIGURATION: [{ guard: 'configurationIsZero' }, { target: 'configured', actions: 'setConfiguration' }],
      },
    },
    configured: {
      on: {
        BUS_RESET: 'default',
        SET_CONFIGURATION: [
          { guard: 'configurationIsZero', target: 'address', actions: 'setConfiguration' },
          { actions: 'setConfiguration' },
        ],
        SET_INTERFACE: { actions: 'resetInterfaceEndpoints' },
      },
    },
  },
});
