/* Sub-commands of the landlord program. */
#ifndef LANDLORD_CLI_CLI_H
#define LANDLORD_CLI_CLI_H

/* `landlord run ...`: argv[0] is "run".  Returns the exit status. */
int cli_run(int argc, char **argv);

/* Commands on running VMs, through their API sockets (cli_vms.c); argv[0] is
 * the command's name.  Each returns the exit status. */
int cli_ls(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_pause(int argc, char **argv);
int cli_resume(int argc, char **argv);
int cli_stop(int argc, char **argv);
int cli_kill(int argc, char **argv);
/* 0 if s is a valid VM name, else -1 with the rule on stderr. */
int cli_check_name(const char *s);
/* `landlord console NAME` (cli_console.c). */
int cli_console(int argc, char **argv);

#endif
