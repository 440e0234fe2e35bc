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

#endif
