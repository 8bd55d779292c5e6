import { encodeMvcmd, type MvcmdRecord } from '../../emu/rom/mvcmd.js';

/** OpenVINO patches `98 <0x80200000> <wd>` into its images: the same, before the jump record. */
export function withWatchdogFlag(stream: Uint8Array): Uint8Array {
  const jumpAt = stream.length - 5;
  if (stream[jumpAt] !== 0xa4) throw new Error('the image does not end with a jump record');
  const flag = encodeMvcmd([{ op: 'write8', addr: 0x80200000, value: 1 }] as MvcmdRecord[]);
  return new Uint8Array([...stream.subarray(0, jumpAt), ...flag, ...stream.subarray(jumpAt)]);
}
