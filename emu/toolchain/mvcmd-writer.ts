import { parseElf32 } from '../elf/elf32.js';
import { encodeMvcmd, type MvcmdRecord } from '../rom/mvcmd.js';
import { parseObject, SHF_ALLOC, SHT_NOBITS } from './elf-object.js';

export interface MvcmdOptions {
  /** Records to put before the image, e.g. CMX layout or watchdog flag writes. */
  readonly prologue?: readonly MvcmdRecord[];
}

/**
 * An executable ELF as an MA2x boot stream, as the vendor's moviConvert makes them: for each
 * allocated section with contents, its name and a load block; then a jump to the entry point.
 * Sections without contents (.bss) are not sent: the firmware's start-up code clears them.
 */
export function elfToMvcmd(elf: Uint8Array, options: MvcmdOptions = {}): Uint8Array {
  const image = parseElf32(elf);
  const object = parseObject(elf, 'executable', true);
  const records: MvcmdRecord[] = [{ op: 'magic' }, ...(options.prologue ?? [])];
  const loadable = object.sections.filter((s) => s.flags & SHF_ALLOC && s.type !== SHT_NOBITS && s.size > 0);
  if (loadable.length > 0) {
    for (const s of loadable) records.push({ op: 'name', text: s.name }, { op: 'load', addr: s.address, data: s.data });
  } else {
    // An ELF without section headers: its segments, by address.
    for (const segment of image.segments) if (segment.data.length > 0) records.push({ op: 'load', addr: segment.vaddr, data: segment.data });
  }
  records.push({ op: 'jump', addr: image.entry });
  return encodeMvcmd(records);
}
