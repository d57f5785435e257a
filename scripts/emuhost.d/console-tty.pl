#!/usr/bin/perl
# The console filter of `emuhost --interactive`: like the line filter in
# emuhost, but bytes reach the terminal as they come (a shell prompt has no
# newline). Hides everything before the start marker and the markers
# themselves, and records the outcome for emuhost:
#   console-tty.pl PREFIX STATUS-FILE PANIC-FILE   (PREFIX = "@@EMUHOST:<nonce>:")
use strict;
use warnings;

my ($pre, $statusf, $panicf) = @ARGV;
my ($started, $done) = (0, 0);
my $line  = '';    # bytes of the current line
my $shown = 0;     # how many of them went out

$| = 1;

sub note {
	my ($file, $text) = @_;
	open(my $f, '>', $file) or return;
	print $f "$text\n";
	close($f);
}

# A complete line: markers change the state; nothing more is printed of it.
sub end_line {
	note($panicf, 'panic') if $line =~ /Kernel panic/;
	my $i = index($line, $pre);
	if ($i >= 0) {
		my $rest = substr($line, $i + length($pre));
		if ($rest =~ /^start@@/) {
			$started = 1;
		} elsif ($rest =~ /^exit:(\d+)@@/) {
			note($statusf, "exit $1");
			$done = 1;
		} elsif ($rest =~ /^setupfail@@/) {
			note($statusf, 'setupfail');
			$done = 1;
		}
	}
}

# Prints what of the current line cannot be the start of a marker.
sub flush_safe {
	return unless $started && !$done;
	my $hold = index($line, $pre, $shown);
	if ($hold < 0) {
		# The longest tail that is a prefix of the marker waits for more.
		$hold = length($line);
		for my $k (1 .. length($pre) - 1) {
			last if $k > length($line) - $shown;
			$hold = length($line) - $k if substr($line, -$k) eq substr($pre, 0, $k);
		}
	}
	if ($hold > $shown) {
		print substr($line, $shown, $hold - $shown);
		$shown = $hold;
	}
}

while (sysread(STDIN, my $buf, 4096)) {
	for my $c (split //, $buf) {
		$line .= $c;
		next unless $c eq "\n";
		flush_safe();
		# Text before a marker on its line ends with the marker's newline.
		print "\n" if $started && !$done && index($line, $pre) > 0;
		end_line();
		$line  = '';
		$shown = 0;
	}
	flush_safe();
}
