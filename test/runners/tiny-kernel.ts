// A multiboot kernel of a few instructions, built by the tests themselves with binutils: it writes
// a marker to COM1 when the memory multiboot reports is at least `needKiB` above 1 MiB (else a
// different line and leaves QEMU through isa-debug-exit), then halts. Enough to measure a real QEMU boot, and a footprint to find.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BOOTED = 'WAYFINDER-BOOTED';

const SOURCE = String.raw`
.set MAGIC, 0x1BADB002
.set FLAGS, 0x00000003
.text
.globl _start
.align 4
.long MAGIC
.long FLAGS
.long -(MAGIC + FLAGS)
_start:
  mov 8(%ebx), %ecx
  cmp $NEED_KIB, %ecx
  jb 2f
  mov $ok, %esi
  jmp 3f
2: mov $small, %esi
3: movb (%esi), %al
  test %al, %al
  jz 4f
  mov $0x3f8, %dx
  outb %al, %dx
  inc %esi
  jmp 3b
4: cmp $small, %esi
  jb 5f
  mov $0xf4, %dx
  mov $1, %al
  outb %al, %dx
5: cli
6: hlt
  jmp 6b
ok: .asciz "${BOOTED}\n"
small: .asciz "NOT-ENOUGH-MEMORY\n"
`;

/** Builds the kernel into `dir` and returns its path. */
export function buildTinyKernel(dir: string, needKiB: number): string {
  const src = join(dir, 'kernel.S');
  const obj = join(dir, 'kernel.o');
  const elf = join(dir, 'kernel.elf');
  writeFileSync(src, SOURCE);
  execFileSync('as', ['--32', '--defsym', `NEED_KIB=${needKiB}`, '-o', obj, src]);
  execFileSync('ld', ['-m', 'elf_i386', '-Ttext=0x100000', '-e', '_start', '--build-id=none', '-z', 'noexecstack', '-o', elf, obj]);
  return elf;
}
