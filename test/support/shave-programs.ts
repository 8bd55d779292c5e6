/** SHAVE programs the control-block tests start from the LEON's side. */

/** Sums i16 words from i18 and stores the sum at i17 (and leaves it in i1); halts with swih 0x2a. */
export const SUM_WORDS = `
        lsu0.ldil i1, 0
        bru.rpl i16, done
        lsu0.ldi.i32 i2, i18, 4
        nop 2
        iau.add i1, i1, i2
done:   nop 2
        lsu0.st.i32 i1, i17, 0
        bru.swih 0x2a
`;
