/** A graph summarised for people: what `myriad-emu graph` and test failures print. */
import type { Graph } from './reader.js';
import { hwc8, spanOf } from './tensor-place.js';
import type { GraphTensor } from './writer.js';

const shapeText = ({ shape: { c, h, w } }: GraphTensor) => `${c}x${h}x${w}`;

function tensorText(t: GraphTensor): string {
  const dense = hwc8(t.shape, t.offset);
  const layout = t.cStride === dense.cStride && t.yStride === dense.yStride && t.xStride === dense.xStride ? 'HWC8' : `strides c ${t.cStride} y ${t.yStride} x ${t.xStride}`;
  return `${shapeText(t)} ${layout} at ${t.location}+0x${t.offset.toString(16)}`;
}

export function describeGraph(graph: Graph): string {
  const h = graph.header;
  const constantBytes = (bytes: Uint8Array | undefined) => bytes?.length ?? 0;
  const lines = [
    `myriad-emu graph ${h.ver_major}.${h.ver_minor}, ${h.file_size} bytes: ${graph.stages.length} stage${graph.stages.length === 1 ? '' : 's'}, up to ${graph.shaves} SHAVEs, ` +
      `bss ${graph.bssBytes} bytes, ${h.cmx_slices} bytes of CMX scratch per SHAVE`,
    `input  '${graph.input.name}' ${tensorText(graph.input)} (${spanOf({ ...graph.input, address: 0 })} bytes)`,
    `output '${graph.output.name}' ${tensorText(graph.output)} (${spanOf({ ...graph.output, address: 0 })} bytes)`,
  ];
  graph.stages.forEach((stage, index) => {
    const params = stage.paramWords.map((w) => `0x${w.toString(16)}`).join(' ');
    lines.push(
      `stage ${index} ${stage.layer.name} (type ${stage.type}) '${stage.name}': ${stage.inputs.map(tensorText).join(' + ')} -> ${tensorText(stage.output)}; ` +
        `params [${params}]; weights ${constantBytes(stage.constants.weights)} bytes, bias ${constantBytes(stage.constants.bias)} bytes; scratch ${stage.scratchBytes}`,
    );
  });
  return lines.join('\n');
}
